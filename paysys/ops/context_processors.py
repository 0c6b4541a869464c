"""Template context every page gets: which environment this is (the admin shows it in its header)."""

from django.conf import settings
from django.http import HttpRequest


def environment(request: HttpRequest) -> dict[str, str]:
    return {"paysys_env": settings.PAYSYS_ENV}
