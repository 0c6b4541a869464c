import pytest
from django.urls import reverse


@pytest.mark.parametrize("environment", ["production", "test"])
def test_every_admin_page_names_the_environment(client, admin_client, settings, environment):
    settings.PAYSYS_ENV = environment
    login = client.get(reverse("admin:login")).content.decode()
    index = admin_client.get(reverse("admin:index")).content.decode()
    for page in (login, index):
        assert "paysys back office" in page
        assert f'data-environment="{environment}"' in page
        assert f"paysys {environment}</title>" in page
        assert f"paysys-env--{environment}" in page  # red for production, amber elsewhere
