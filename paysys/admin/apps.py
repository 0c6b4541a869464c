from django.contrib.admin.apps import AdminConfig


class PaysysAdminConfig(AdminConfig):
    """Django's admin with paysys' site (``paysys.admin.site``) as ``admin.site``."""

    default_site = "paysys.admin.site.PaysysAdminSite"
