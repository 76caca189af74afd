"""Fits in processes of their own: bounded by a timeout, cancelled by DELETE, JSON on the queue."""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update

from relumap_service.jobs import FitQueue
from relumap_service.records import ModelRecord, utcnow
from relumap_service.store import Store

# SGD on this runs for minutes: only a timeout or a cancellation ends it early.
LONG_FIT = {"hidden_layer_sizes": [256, 256], "solver": "sgd", "max_iter": 5000, "tol": 0}


def descendants(pid: int) -> set[int]:
    """Return the pids of all living descendants of ``pid``, from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
            except FileNotFoundError:
                continue
            for child in map(int, text.split()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def wait_status(app: Flask, model_id: str, statuses: tuple[str, ...], timeout: float) -> Any:
    client = app.test_client()
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/models/{model_id}")
        body = response.get_json()
        if response.status_code == 404 or body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout} s"
        time.sleep(0.05)


def upload(app: Flask, n_samples: int = 2000) -> str:
    client = app.test_client()
    response = client.post("/v1/datasets/generate", json={"kind": "sine", "n_samples": n_samples})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def fit(app: Flask, dataset_id: str, params: dict[str, Any]) -> str:
    response = app.test_client().post("/v1/models", json={"dataset_id": dataset_id, **params})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def test_a_fit_past_the_timeout_is_killed_and_fails_naming_the_limit(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(FIT_TIMEOUT=1.5)
    assert app.test_client().get("/v1").get_json()["limits"]["fit_timeout"] == 1.5
    dataset_id = upload(app)
    model_id = fit(app, dataset_id, LONG_FIT)
    # From the start of the fit: the fit process server's warm-up is not the fit's.
    wait_status(app, model_id, ("running", "failed"), timeout=30)
    started = time.monotonic()
    body = wait_status(app, model_id, ("succeeded", "failed"), timeout=20)
    elapsed = time.monotonic() - started
    assert body["status"] == "failed"
    assert "longer than 1.5 s (RELUMAP_FIT_TIMEOUT)" in body["error"]
    assert elapsed < 8, elapsed
    # The queue is free: a small fit runs next and succeeds.
    small = fit(app, dataset_id, {"hidden_layer_sizes": [4], "max_iter": 50})
    assert wait_status(app, small, ("succeeded", "failed"), timeout=20)["status"] == "succeeded"


def test_deleting_a_running_fit_kills_its_process_and_frees_the_worker(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(FIT_WORKERS=1)
    dataset_id = upload(app)
    warm_up = fit(app, dataset_id, {"hidden_layer_sizes": [4], "max_iter": 50})
    assert wait_status(app, warm_up, ("succeeded", "failed"), timeout=20)["status"] == "succeeded"
    long_id = fit(app, dataset_id, LONG_FIT)
    wait_status(app, long_id, ("running",), timeout=20)
    time.sleep(0.5)  # let the fit process start computing
    fit_processes = descendants(os.getpid()) - _multiprocessing_servers()
    assert fit_processes, "the fit runs in no process of its own"
    deleted_at = time.monotonic()
    assert app.test_client().delete(f"/v1/models/{long_id}").status_code == 204
    small = fit(app, dataset_id, {"hidden_layer_sizes": [4], "max_iter": 50})
    wait_status(app, small, ("running", "succeeded", "failed"), timeout=20)
    assert time.monotonic() - deleted_at < 2.0, "the worker was not freed within 2 s"
    assert wait_status(app, small, ("succeeded", "failed"), timeout=20)["status"] == "succeeded"
    # Those processes (the deleted fit's, and the spare that the small fit took)
    # are killed at once and reaped beside the consumer.
    deadline = time.monotonic() + 2
    while survivors := fit_processes & descendants(os.getpid()):
        assert time.monotonic() < deadline, f"the deleted fit's process lives on: {survivors}"
        time.sleep(0.05)


def _multiprocessing_servers() -> set[int | None]:
    """Return the pids of the forkserver and resource tracker, which outlive fits."""
    from multiprocessing import forkserver, resource_tracker

    return {
        forkserver._forkserver._forkserver_pid,  # type: ignore[attr-defined]
        resource_tracker._resource_tracker._pid,  # type: ignore[attr-defined]
    }


class _Planted:
    """Unpickling this would create a file: what a hostile queue message does."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_queue_messages_are_json_and_a_pickle_is_never_loaded(
    backend_config: dict[str, Any], tmp_path: Path
) -> None:
    from relumap_service.config import load_config

    config = load_config({"DATA_DIR": str(tmp_path), **backend_config})
    store = Store.open(config)
    queue = FitQueue(config, store)
    try:
        queue.submit("0123456789abcdef0123456789abcdef")
        raw = queue.huey.storage.dequeue()
        message = json.loads(raw)
        assert message["huey_message"]["args"] == ["0123456789abcdef0123456789abcdef"]
        assert message["huey_message"]["name"].endswith("relumap.fit")

        marker = tmp_path / "unpickled"
        queue.huey.storage.enqueue(pickle.dumps(_Planted(marker)))
        with pytest.raises(ValueError):
            queue.huey.dequeue()
        assert not marker.exists()
    finally:
        queue.huey.storage.flush_queue()
        store.dispose()


def test_two_databases_on_one_redis_have_separate_queues(tmp_path: Path) -> None:
    from relumap_service.config import load_config
    from tests.conftest import redis_queue, require_scale_out_servers

    require_scale_out_servers()
    with redis_queue() as queue_settings:
        queues = []
        for name in ("first", "second"):
            config = load_config({"DATA_DIR": str(tmp_path / name), **queue_settings})
            queues.append(FitQueue(config, Store.open(config)))
        first, second = queues
        assert first.huey.name != second.huey.name
        first.submit("0123456789abcdef0123456789abcdef")
        assert (first.pending(), second.pending()) == (1, 0)
        first.huey.storage.flush_queue()
        for queue in queues:
            queue.store.dispose()


def test_the_sweep_requeues_a_queued_fit_whose_message_was_lost(
    backend_config: dict[str, Any], tmp_path: Path
) -> None:
    from relumap_service.config import load_config
    from relumap_service.records import DatasetRecord

    config = load_config({"DATA_DIR": str(tmp_path), "FIT_LEASE_SECONDS": 1.0, **backend_config})
    store = Store.open(config)
    queue = FitQueue(config, store)
    try:
        dataset = DatasetRecord(
            name="line",
            source="upload",
            n_samples=2,
            n_features=1,
            task_hint="regression",
            bounds={},
            X=[[0.0], [1.0]],
            y=[0.0, 1.0],
        )
        store.add(dataset)
        ids = []
        for _ in range(3):
            model = ModelRecord(
                dataset_id=dataset.id,
                source="fit",
                status="queued",
                task="regression",
                params={"hidden_layer_sizes": [2]},
            )
            store.add(model)
            ids.append(model.id)
        lost, waiting, fresh = ids
        queue.submit(waiting)  # its message is in the queue
        with store.session() as session:
            session.execute(
                update(ModelRecord)
                .where(ModelRecord.id.in_([lost, waiting]))
                .values(created_at=utcnow() - timedelta(seconds=5))
            )
        # Queued for over a lease with no message: only `lost` is queued again.
        assert queue.sweep() == [lost]
        pending = sorted(task.args[0] for task in queue.huey.pending())
        assert pending == sorted([lost, waiting])
        assert fresh not in pending
    finally:
        queue.huey.storage.flush_queue()
        store.dispose()


def test_listing_datasets_reads_no_points(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    for _ in range(3):
        upload(app, n_samples=500)
    store: Store = app.extensions["relumap"].store
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        response = app.test_client().get("/v1/datasets")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert response.status_code == 200 and len(response.get_json()) == 3
    selects = [s for s in statements if "FROM datasets" in s]
    assert selects, statements
    for statement in selects:
        columns = statement.split("FROM")[0]
        assert "datasets.name" in columns or "count" in columns.lower()
        assert 'datasets."X"' not in columns and "datasets.X" not in columns, statement
        assert "datasets.y" not in columns, statement


def test_stopping_the_embedded_consumer_requeues_its_running_fit_at_once(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory()
    dataset_id = upload(app)
    model_id = fit(app, dataset_id, LONG_FIT)
    wait_status(app, model_id, ("running",), timeout=30)
    queue: FitQueue = app.extensions["relumap"].queue
    started = time.monotonic()
    queue.stop()  # what a web process does when it shuts down
    assert time.monotonic() - started < 5
    record = app.extensions["relumap"].store.get_model(model_id)
    assert (record.status, record.attempts, record.lease_until) == ("queued", 1, None)
    assert [task.args[0] for task in queue.huey.pending()] == [model_id]


def _fit_process_pid(payload: dict[str, Any]) -> int:
    from relumap_service import fit_process

    with fit_process._pool_lock:
        assert fit_process._idle, "no fit process waits for the next fit"
        waiting = int(fit_process._idle[-1].process.pid)  # the one the fit takes
    assert fit_process.run_in_fit_process(payload, timeout=60, cancelled=lambda: False)["network"]
    return waiting


def _idle_pids() -> list[int]:
    from relumap_service import fit_process

    with fit_process._pool_lock:
        return [fit.process.pid for fit in fit_process._idle]


def test_fit_processes_take_fits_in_turn_and_end_when_killed_retired_or_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relumap_service import fit_process

    # As if no consumer of this test process kept fit processes (other tests' apps may).
    monkeypatch.setattr(fit_process, "_idle", [])
    monkeypatch.setattr(fit_process, "_busy", 0)
    monkeypatch.setattr(fit_process, "_pool_size", 0)
    monkeypatch.setattr(fit_process, "FITS_PER_PROCESS", 5)

    payload = {
        "X": [[x / 10] for x in range(20)],
        "y": [x / 10 for x in range(20)],
        "params": {"hidden_layer_sizes": [4], "max_iter": 20},
        "task": "regression",
        "classes": None,
    }
    fit_process.start_fit_server()
    fit_process.keep_fit_processes(1)
    deadline = time.monotonic() + 30
    while not _idle_pids():  # started ahead of the first fit, in the background
        assert time.monotonic() < deadline, "no process waits for the first fit"
        time.sleep(0.01)
    first = _fit_process_pid(payload)
    # A process that answered takes the next fit, a fit error included, and
    # each fit reports its own warnings ...
    assert _fit_process_pid(payload) == first
    unconverged = payload | {"params": {"hidden_layer_sizes": [4], "max_iter": 5, "solver": "sgd"}}
    for _ in range(2):
        result = fit_process.run_in_fit_process(unconverged, timeout=60, cancelled=lambda: False)
        assert [w["category"] for w in result["warnings"]] == ["ConvergenceWarning"]
    bad = payload | {"y": [0] * 20, "task": "classification", "classes": [0]}
    with pytest.raises(fit_process.FitError):
        fit_process.run_in_fit_process(bad, timeout=60, cancelled=lambda: False)
    # ... up to FITS_PER_PROCESS fits; then it ends, and another starts ahead of need.
    deadline = time.monotonic() + 10
    while not _idle_pids() or _idle_pids() == [first]:
        assert time.monotonic() < deadline, "no new process after the first retired"
        time.sleep(0.01)
    second = _fit_process_pid(payload)
    assert second != first
    # A cancelled fit's process is killed, never given the next fit.
    slow = payload | {"params": LONG_FIT, "X": payload["X"] * 50, "y": payload["y"] * 50}
    with pytest.raises(fit_process.FitCancelled):
        fit_process.run_in_fit_process(slow, timeout=60, cancelled=lambda: True, poll_seconds=0.1)
    deadline = time.monotonic() + 10
    while not _idle_pids():
        assert time.monotonic() < deadline, "no new process after a cancelled fit"
        time.sleep(0.01)
    third = _fit_process_pid(payload)
    assert third not in (first, second)
    # Two fits at once run in two processes, and both wait for the next fits
    # when the consumers run two fits at once.
    fit_process.keep_fit_processes(1)
    longer = payload | {"X": payload["X"] * 20, "y": payload["y"] * 20}
    longer["params"] = {"hidden_layer_sizes": [64], "max_iter": 300}
    with ThreadPoolExecutor(2) as pool:
        for result in pool.map(
            lambda p: fit_process.run_in_fit_process(p, timeout=60, cancelled=lambda: False),
            [longer, longer],
        ):
            assert result["network"]
    waiting = _idle_pids()
    assert len(set(waiting)) == 2 and third in waiting
    fit_process.release_fit_processes(1)
    assert _idle_pids() == waiting[:1]
    fit_process.release_fit_processes(1)  # this test's consumers stop: none waits
    assert _idle_pids() == []
    fit_process._refill_pool()  # as a refill after a kill would: no consumer keeps one
    assert _idle_pids() == []
    deadline = time.monotonic() + 5
    while survivors := {first, second, third, *waiting} & descendants(os.getpid()):
        assert time.monotonic() < deadline, f"fit processes live on: {survivors}"
        time.sleep(0.05)


def test_the_sqlite_queue_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    # Its messages are a copy of the store's queued models (the sweep restores a
    # lost one), so the queue file trades the last commits on power loss for speed;
    # the store keeps waiting for the disk.
    from relumap_service.jobs import make_huey

    huey = make_huey(f"sqlite:///{tmp_path / 'queue.db'}", "relumap-test")
    assert huey.storage.conn.execute("pragma synchronous").fetchone() == (1,)  # NORMAL
    assert huey.storage.conn.execute("pragma journal_mode").fetchone() == ("wal",)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL
