"""Placeholder: being built."""

from django.http import HttpResponse


def intake(request):
    return HttpResponse("")


def track(request):
    return HttpResponse("")
