"""Every route of the project. Only this module and the settings name every app."""

from django.contrib import admin
from django.urls import include, path

v1 = [
    path("", include("paysys.api.urls")),
    path("", include("merchants.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("paysys.events.api.urls")),
    path("", include("settlements.api.urls")),
]

handler400 = "paysys.api.errors.django_400"
handler403 = "paysys.api.errors.django_403"
handler404 = "paysys.api.errors.django_404"
handler500 = "paysys.api.errors.django_500"

urlpatterns = [
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("v1/", include(v1)),
    path("", include("paysys.ops.urls")),
    path("", include("django_prometheus.urls")),
]
