from django.urls import path

from paysys.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("v1/bench/noop", views.BenchNoopApi.as_view(), name="bench-noop"),
]
