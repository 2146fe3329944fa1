from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo district (`load_demo`), above everything: it calls every app's actions."""

    name = "demo"
    verbose_name = "演示数据"
