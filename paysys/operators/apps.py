from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OperatorsConfig(AppConfig):
    name = "paysys.operators"
    label = "operators"
    verbose_name = "Operators"


class OperatorsAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by the site that asks for the second factor (settings name it)."""

    default = False
    default_site = "paysys.operators.site.OperatorAdminSite"
