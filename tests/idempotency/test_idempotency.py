"""Idempotency-Key through the platform's base view, on real PostgreSQL transactions."""

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from paysys import crypto
from paysys.idempotency.models import IdempotencyKey
from paysys.idempotency.services import idempotency_keys_prune, request_fingerprint
from tests.api.platform_app import OTHER_KEY, WRITE_KEY, groups


def post(body, key="k1", secret=WRITE_KEY, path="/v1/groups"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client(raise_request_exception=False).post(
        path, data=raw, content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_same_key_same_body_replays_status_and_bytes(platform_api):
    first = post({"name": "a"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    for _ in range(3):
        again = post({"name": "a"})
        assert (again.status_code, again.content) == (201, first.content)
        assert again["Idempotent-Replayed"] == "true"
        assert again["Request-Id"] != first["Request-Id"]
    assert groups().count() == 1


@pytest.mark.django_db
def test_key_order_and_spacing_of_the_body_do_not_matter(platform_api):
    post('{"name": "a", "metadata": {"x": "1", "y": "2"}}')
    again = post('{"metadata":{"y":"2","x":"1"},  "name":"a"}')
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_other_body_is_422(platform_api):
    post({"name": "a"})
    response = post({"name": "b"})
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "idempotency_error"
    assert groups().count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_merchant(platform_api):
    assert post({"name": "a"}).status_code == 201
    theirs = post({"name": "a"}, secret=OTHER_KEY)
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert groups().count() == 2


@pytest.mark.django_db
def test_client_errors_are_stored_and_replayed(platform_api):
    first = post({"name": "a", "fail": "conflict"})
    again = post({"name": "a", "fail": "conflict"})
    assert first.status_code == again.status_code == 409
    assert (
        json.loads(again.content)["error"]["code"] == json.loads(first.content)["error"]["code"] == "not_now"
    )
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256])
@pytest.mark.django_db
def test_key_length_must_be_1_to_255(platform_api, key):
    response = post({"name": "a"}, key=key)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


def test_fingerprint_covers_method_path_and_body():
    base = request_fingerprint(method="POST", path="/v1/a", body=b'{"x": 1}')
    assert base == request_fingerprint(method="post", path="/v1/a", body=b'{ "x":1 }')
    assert base != request_fingerprint(method="POST", path="/v1/b", body=b'{"x": 1}')
    assert base != request_fingerprint(method="POST", path="/v1/a", body=b'{"x": 2}')


@pytest.mark.django_db(transaction=True)
def test_server_error_rolls_back_the_write_and_frees_the_key(platform_api):
    assert post({"name": "a", "fail": "crash"}).status_code == 500
    assert not groups().exists()
    assert not IdempotencyKey.objects.exists()
    assert post({"name": "a"}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_business_write_and_stored_response_commit_together(platform_api):
    response = post({"name": "a"})
    row = IdempotencyKey.objects.get()
    assert row.response_status == 201
    assert crypto.decrypt(bytes(row.response_body)) == response.content
    assert groups().count() == 1


@pytest.mark.django_db
def test_the_stored_response_is_encrypted_and_the_fingerprint_keyed(platform_api, settings):
    body = {"name": "whsec_looks_like_a_secret"}
    response = post(body)
    row = IdempotencyKey.objects.get()
    assert b"whsec_" not in bytes(row.response_body)
    assert crypto.decrypt(bytes(row.response_body)) == response.content
    # A plain hash of the request would let anyone holding the table test guesses of its body.
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(raw).hexdigest() != row.fingerprint
    settings.SECRET_KEY = "another-key"
    assert request_fingerprint(method="POST", path=row.path, body=raw) != row.fingerprint


@pytest.mark.django_db(transaction=True)
def test_a_key_is_stored_only_with_a_response(platform_api):
    """A 4xx is stored like a 201; a request that raised leaves no row, so a retry runs."""
    assert post({"name": "a", "fail": "conflict"}, key="conflict").status_code == 409
    assert post({"name": "a", "fail": "crash"}, key="crash").status_code == 500
    assert list(IdempotencyKey.objects.values_list("key", "response_status")) == [("conflict", 409)]


def _in_thread(fn):
    try:
        return fn()
    finally:
        connection.close()


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_in_flight_request_gets_409_and_then_replays(platform_api):
    platform_api.gate.update(enabled=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(_in_thread, lambda: post({"name": "a"}))
        assert platform_api.gate["entered"].wait(timeout=20)
        platform_api.gate["enabled"] = False
        second = _in_thread(lambda: post({"name": "a"}))
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "idempotency_key_in_use"
        platform_api.gate["release"].set()
        first = slow.result(timeout=30)
    assert first.status_code == 201
    assert post({"name": "a"}).content == first.content
    assert groups().count() == 1


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_run_once(platform_api):
    barrier = threading.Barrier(8)

    def attempt():
        barrier.wait(timeout=20)
        return post({"name": "a"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: _in_thread(attempt), range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.content for r in created}) == 1
    assert sum(1 for r in created if "Idempotent-Replayed" not in r) == 1
    assert groups().count() == 1


@pytest.mark.django_db
def test_prune_deletes_keys_older_than_the_retention(platform_api):
    now = timezone.now()
    for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=23))):
        IdempotencyKey.objects.create(
            merchant="mer_a",
            key=key,
            method="POST",
            path="/p",
            fingerprint="f",
            response_status=201,
            response_body=b"{}",
            created=now - age,
        )
    assert idempotency_keys_prune() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_commits_the_work_and_a_retry_resumes_there(platform_api):
    body = {"name": "a", "checkpoint": True, "fail": "crash_first"}
    assert post(body).status_code == 500
    # The work before the checkpoint committed, with the point a retry resumes at.
    group = groups().get()
    row = IdempotencyKey.objects.get()
    assert (row.recovery_point, row.response_status, row.response_body) == (f"group:{group.pk}", None, None)
    assert post({"name": "b", "checkpoint": True}).status_code == 422
    resumed = post(body)
    assert resumed.status_code == 201
    assert resumed["Resumed-From"] == f"group:{group.pk}"
    assert json.loads(resumed.content)["id"] == group.pk
    assert groups().count() == 1
    replay = post(body)
    assert (replay.status_code, replay.content, replay["Idempotent-Replayed"]) == (
        201,
        resumed.content,
        "true",
    )
    row = IdempotencyKey.objects.get()
    assert (row.recovery_point, row.response_status) == (f"group:{group.pk}", 201)


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_a_request_past_its_checkpoint_keeps_the_key_until_it_ends(platform_api):
    """The checkpoint's commit ends the transaction, not the hold on the key (session level)."""
    platform_api.gate.update(enabled=True)
    body = {"name": "a", "checkpoint": True}
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(_in_thread, lambda: post(body))
        assert platform_api.gate["entered"].wait(timeout=20)
        platform_api.gate["enabled"] = False
        assert IdempotencyKey.objects.filter(response_status__isnull=True).count() == 1
        second = _in_thread(lambda: post(body))
        assert (second.status_code, second.json()["error"]["code"]) == (409, "idempotency_key_in_use")
        assert _in_thread(lambda: post({**body, "name": "b"})).status_code == 422
        platform_api.gate["release"].set()
        first = slow.result(timeout=30)
    assert first.status_code == 201
    assert "Resumed-From" not in first
    assert post(body).content == first.content
    assert groups().count() == 1
    # Released at the end: no session of this database holds an advisory lock any more.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_a_stored_response_has_both_status_and_body(platform_api):
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(
            merchant="mer_a",
            key="half",
            method="POST",
            path="/p",
            fingerprint="f",
            response_status=201,
            created=timezone.now(),
        )
