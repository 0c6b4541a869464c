from django.urls import include, path

from tests.api.platform_app import urlpatterns as platform_urls

handler404 = "paysys.api.errors.django_404"
handler500 = "paysys.api.errors.django_500"

urlpatterns = [*platform_urls, path("v1/", include("paysys.api.urls"))]
