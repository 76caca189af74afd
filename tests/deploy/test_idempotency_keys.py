"""Idempotency keys: reservations expire, keys are scoped by credentials, bodies compared parsed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from relumap_service.records import IdempotencyRecord, utcnow
from relumap_service.store import Store

DATASET = {"name": "line", "X": [[0.0], [1.0], [2.0]], "y": [0.0, 1.0, 2.0]}


def post(app: Flask, body: str, key: str, auth: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {auth}"
    response = app.test_client().post("/v1/datasets", data=body, headers=headers)
    return response.status_code, response.get_json(), dict(response.headers)


def test_the_same_json_written_differently_is_the_same_request(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory()
    status, first, _ = post(app, json.dumps(DATASET), "k-1")
    assert status == 201
    reordered = json.dumps(dict(reversed(list(DATASET.items()))), indent=3)
    status, again, headers = post(app, reordered, "k-1")
    assert (status, again["id"], headers.get("Idempotent-Replayed")) == (201, first["id"], "true")
    # A different document under the same key is refused, not replayed.
    status, _, _ = post(app, json.dumps({**DATASET, "name": "other"}), "k-1")
    assert status == 422
    total = app.test_client().get("/v1/datasets").headers["X-Pagination"]
    assert json.loads(total)["total"] == 1


def test_keys_are_scoped_by_the_api_key(app_factory: Callable[..., Flask]) -> None:
    # The same database behind a key rotation: the new key's requests are new requests.
    before = app_factory(API_KEY="first-secret")
    status, first, _ = post(before, json.dumps(DATASET), "k-2", auth="first-secret")
    assert status == 201
    after = app_factory(API_KEY="second-secret")
    status, second, headers = post(after, json.dumps(DATASET), "k-2", auth="second-secret")
    assert status == 201 and second["id"] != first["id"]
    assert "Idempotent-Replayed" not in headers
    status, replayed, _ = post(after, json.dumps(DATASET), "k-2", auth="second-secret")
    assert (status, replayed["id"]) == (201, second["id"])


def test_a_key_left_by_a_killed_request_is_free_again_after_its_lease(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(IDEMPOTENCY_LEASE_SECONDS=60)
    store: Store = app.extensions["relumap"].store
    status, _, _ = post(app, json.dumps(DATASET), "seed")
    assert status == 201
    # What a request killed mid-way leaves: its reservation, never completed nor released.
    with app.test_request_context(
        "/v1/datasets",
        method="POST",
        data=json.dumps(DATASET),
        headers={"Content-Type": "application/json"},
    ):
        from relumap_service.api.idempotency import _fingerprint, _stored_key

        stored, fingerprint = _stored_key("k-3"), _fingerprint()
    assert store.reserve_idempotent(stored, fingerprint, 60)
    status, body, headers = post(app, json.dumps(DATASET), "k-3")
    assert status == 409 and headers["Retry-After"] == "1"
    # The lease passes: the retry runs.
    with store.session() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == stored)
            .values(reserved_until=utcnow() - timedelta(seconds=1))
        )
    status, body, _ = post(app, json.dumps(DATASET), "k-3")
    assert status == 201, body
    status, again, headers = post(app, json.dumps(DATASET), "k-3")
    assert (again["id"], headers.get("Idempotent-Replayed")) == (body["id"], "true")


def test_a_reservation_expires_by_itself(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    store: Store = app.extensions["relumap"].store
    assert store.reserve_idempotent("raw", "f" * 64, 0.2)
    assert not store.reserve_idempotent("raw", "f" * 64, 0.2)
    time.sleep(0.3)
    assert store.reserve_idempotent("raw", "f" * 64, 0.2)


def test_waiting_or_not_is_the_same_request(client: FlaskClient) -> None:
    data = client.post("/v1/datasets/generate", json={"kind": "abs", "n_samples": 60}).get_json()
    fit = {"dataset_id": data["id"], "hidden_layer_sizes": [2], "max_iter": 50}
    headers = {"Idempotency-Key": "wait-or-not"}
    first = client.post("/v1/models?wait=30", json=fit, headers=headers)
    again = client.post("/v1/models", json=fit, headers=headers)
    assert first.status_code in (201, 202) and again.status_code == first.status_code
    assert again.get_json()["id"] == first.get_json()["id"]
