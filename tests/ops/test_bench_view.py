"""The database-free DRF view that bench/api.py uses as its floor."""

import pytest


@pytest.mark.django_db
def test_bench_floor_is_a_404_unless_the_bench_setting_is_on(client, settings):
    settings.PAYSYS_BENCH = False
    response = client.get("/v1/bench/noop")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


@pytest.mark.django_db
def test_bench_floor_answers_through_drf_without_touching_the_database(
    client, settings, django_assert_num_queries
):
    settings.PAYSYS_BENCH = True
    with django_assert_num_queries(0):
        response = client.get("/v1/bench/noop")
    assert response.status_code == 200
    assert response.json() == {"object": "bench", "ok": True}
    assert response["Request-Id"].startswith("req_")


@pytest.mark.django_db
def test_bench_floor_is_not_part_of_the_public_schema(client):
    schema = client.get("/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "bench" not in schema.content.decode()
