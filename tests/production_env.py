"""The environment of a production process, for tests that start one (``manage.py`` in a subprocess)."""

import os
import secrets


def production_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PAYSYS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "paysys.example.com",
        "DEBUG": "false",
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env
