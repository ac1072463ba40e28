from django.http import HttpResponse
from django.urls import path

from config.urls_tenant import handler404, handler500  # noqa: F401
from config.urls_tenant import urlpatterns as tenant_urlpatterns


def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


def hello_post(request):
    return HttpResponse("Hello, world", content_type="text/plain")


from django.views.decorators.csrf import csrf_exempt  # noqa: E402

urlpatterns = [
    path("__hello__/", hello),
    path("__hello_post__/", csrf_exempt(hello_post)),
    *tenant_urlpatterns,
]
