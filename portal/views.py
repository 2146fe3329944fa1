from django.contrib.auth import views as auth_views
from django.http import HttpResponse


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def home(request):
    return HttpResponse("ok")


def logout_view(request):
    return HttpResponse("ok")


def healthz(request):
    return HttpResponse("ok")
