"""Leases: a dead worker's fit is re-queued or failed; a live fit keeps its lease."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from relumap_service.records import DatasetRecord, ModelRecord, utcnow
from relumap_service.store import Store
from tests.conftest import backend_settings

FIT_PARAMS = {"hidden_layer_sizes": [4], "max_iter": 50}


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    with backend_settings(backend) as settings:
        store = Store(settings.get("DATABASE_URL", f"sqlite:///{tmp_path / 'relumap.db'}"))
        store.migrate()
        yield store
        store.dispose()


def add_model(store: Store, status: str = "queued") -> str:
    dataset = DatasetRecord(
        name="line",
        source="upload",
        n_samples=20,
        n_features=1,
        task_hint="regression",
        bounds={},
        X=[[i / 10] for i in range(20)],
        y=[i / 10 for i in range(20)],
    )
    store.add(dataset)
    model = ModelRecord(
        dataset_id=dataset.id, source="fit", status=status, task="regression", params=FIT_PARAMS
    )
    store.add(model)
    return model.id


def expire(store: Store, model_id: str) -> None:
    """Make the lease of a running model lie in the past, as if its worker had died."""
    with store.session() as session:
        session.execute(
            update(ModelRecord)
            .where(ModelRecord.id == model_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


def test_claim_is_exclusive_and_fences_the_attempt(store: Store) -> None:
    model_id = add_model(store)
    assert store.claim_model(model_id, 30, "host:1").attempt == 1
    assert store.claim_model(model_id, 30, "host:2") is None
    assert store.get_model(model_id).worker == "host:1"
    assert store.renew_lease(model_id, 30, attempt=1)
    assert not store.renew_lease(model_id, 30, attempt=2)
    assert not store.finish_model(model_id, 2, result={"x": 1})
    assert store.finish_model(model_id, 1, result={"x": 1})
    assert store.get_model(model_id).status == "succeeded"


def test_an_expired_lease_is_requeued_then_failed_naming_the_lease(store: Store) -> None:
    model_id = add_model(store)
    assert store.claim_model(model_id, 30, "host:1").attempt == 1
    assert store.expire_leases(max_attempts=2, lease_seconds=30) == []  # still valid
    expire(store, model_id)
    [first] = store.expire_leases(max_attempts=2, lease_seconds=30)
    assert (first.model_id, first.attempt, first.action) == (model_id, 1, "requeued")
    record = store.get_model(model_id)
    assert (record.status, record.lease_until, record.error) == ("queued", None, None)
    # The first worker comes back to life: its writes are refused.
    assert not store.finish_model(model_id, 1, result={"late": True})
    assert store.claim_model(model_id, 30, "host:2").attempt == 2
    assert not store.renew_lease(model_id, 30, attempt=1)
    expire(store, model_id)
    [second] = store.expire_leases(max_attempts=2, lease_seconds=30)
    assert second.action == "failed"
    record = store.get_model(model_id)
    assert record.status == "failed" and record.finished_at is not None
    assert "RELUMAP_FIT_LEASE_SECONDS" in record.error and "host:2" in record.error
    assert "attempt 2 of 2" in record.error
    assert store.expire_leases(max_attempts=2, lease_seconds=30) == []


def test_count_models_by_status_reports_every_status(store: Store) -> None:
    add_model(store)
    add_model(store, status="succeeded")
    assert store.count_models_by_status() == {
        "queued": 1,
        "running": 0,
        "succeeded": 1,
        "failed": 0,
    }


def poll(app: Flask, model_id: str, statuses: tuple[str, ...], timeout: float) -> dict[str, Any]:
    client = app.test_client()
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/models/{model_id}").get_json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_the_embedded_reaper_requeues_a_dead_workers_fit_and_it_succeeds(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(FIT_LEASE_SECONDS=0.6)
    store: Store = app.extensions["relumap"].store
    model_id = add_model(store, status="queued")
    # A worker claimed it and died: nobody renews the lease.
    assert store.claim_model(model_id, 0.6, "gone:1").attempt == 1
    body = poll(app, model_id, ("succeeded", "failed"), timeout=30)
    assert body["status"] == "succeeded", body["error"]
    assert body["attempts"] == 2


def test_the_embedded_reaper_fails_a_fit_that_used_its_attempts(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(FIT_LEASE_SECONDS=0.6, FIT_MAX_ATTEMPTS=1)
    store: Store = app.extensions["relumap"].store
    model_id = add_model(store, status="queued")
    assert store.claim_model(model_id, 0.6, "gone:1").attempt == 1
    body = poll(app, model_id, ("succeeded", "failed"), timeout=30)
    assert body["status"] == "failed"
    assert "stopped renewing its 0.6-second lease" in body["error"]


def test_a_fit_longer_than_its_lease_keeps_it_by_heartbeat(
    app_factory: Callable[..., Flask],
) -> None:
    # Renewed every third of it: on a loaded two-core machine a 0.3 s lease
    # was once missed (a second attempt).
    lease = 0.6
    app = app_factory(FIT_LEASE_SECONDS=lease)
    client = app.test_client()
    data = client.post("/v1/datasets/generate", json={"kind": "sine", "n_samples": 1000}).get_json()
    # A second and a half of SGD or more: several leases long.
    response = client.post(
        "/v1/models",
        json={
            "dataset_id": data["id"],
            "hidden_layer_sizes": [32, 32],
            "solver": "sgd",
            "max_iter": 1800,
            "tol": 0,
        },
    )
    body = poll(app, response.get_json()["id"], ("succeeded", "failed"), timeout=60)
    assert body["status"] == "succeeded", body["error"]
    assert body["attempts"] == 1
    # Had nobody renewed the lease, the reaper would have re-queued the fit.
    assert body["timings"]["run_seconds"] > 2 * lease


def test_a_fit_interrupted_by_shutdown_is_queued_again(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relumap_service.config import load_config
    from relumap_service.jobs import FitQueue

    config = load_config({"DATA_DIR": str(tmp_path), "DATABASE_URL": store.url})
    queue = FitQueue(config, store)
    model_id = add_model(store)

    def interrupted(payload: dict[str, Any], cancelled: Any) -> dict[str, Any]:
        # What Huey raises in a process worker when a graceful shutdown times out.
        raise KeyboardInterrupt

    monkeypatch.setattr(queue, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        queue.execute(model_id)
    record = store.get_model(model_id)
    assert (record.status, record.attempts, record.lease_until) == ("queued", 1, None)
    assert queue.pending() == 1
