"""Waiting is woken by events: a fit's end releases its request, a queued fit an idle consumer.

The store is re-read only every ``FIT_WAIT_RECHECK_SECONDS``; these tests set it
to 1000 s, so a request released within its test is released by the event. Each
waits in a thread joined with a generous bound, far under 1000 s: a missing
event fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from huey.consumer import Worker

from relumap_service.fit_events import FitEvents
from relumap_service.jobs import _WakeableWorker, make_huey

NEVER = 1000.0  # seconds between re-reads of the store: never, within a test
BOUND = 30.0  # seconds a released request may take, under any load


def upload(app: Flask) -> str:
    response = app.test_client().post(
        "/v1/datasets/generate", json={"kind": "sine", "n_samples": 200}
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def post_and_wait(app: Flask, dataset_id: str, answers: list[Any]) -> threading.Thread:
    """POST a fit with ?wait=60 in a thread; its answer lands in ``answers``."""

    def request() -> None:
        response = app.test_client().post(
            "/v1/models?wait=60",
            json={"dataset_id": dataset_id, "hidden_layer_sizes": [4], "max_iter": 50},
        )
        answers.append((response.status_code, response.get_json()))

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    return thread


def until_waiting(app: Flask, count: int = 1) -> None:
    events: FitEvents = app.extensions["relumap"].queue.events
    deadline = time.monotonic() + BOUND
    while events.waiting() < count:
        assert time.monotonic() < deadline, "the request never started waiting"
        time.sleep(0.01)


def test_a_fit_finished_by_another_process_releases_the_waiting_request(
    app_factory: Callable[..., Flask],
) -> None:
    # The web process has no consumer; the fit runs in another app's, started only
    # once the request waits, so that nothing but the fit's event can release it.
    web = app_factory(EMBEDDED_WORKER=False, FIT_WAIT_RECHECK_SECONDS=NEVER)
    dataset_id = upload(web)
    answers: list[Any] = []
    thread = post_and_wait(web, dataset_id, answers)
    until_waiting(web)
    app_factory(FIT_WAIT_RECHECK_SECONDS=NEVER)  # its embedded consumer takes the fit
    thread.join(BOUND)
    assert not thread.is_alive(), "the waiting request was not woken by the fit's end"
    status, body = answers[0]
    assert (status, body["status"]) == (201, "succeeded"), body
    assert web.extensions["relumap"].queue.events.waiting() == 0


def test_a_get_with_wait_is_released_by_the_fit_it_waits_for(
    app_factory: Callable[..., Flask],
) -> None:
    web = app_factory(EMBEDDED_WORKER=False, FIT_WAIT_RECHECK_SECONDS=NEVER)
    client = web.test_client()
    fit = {"dataset_id": upload(web), "hidden_layer_sizes": [4], "max_iter": 50}
    model_id = client.post("/v1/models", json=fit).get_json()["id"]
    too_long = client.get(f"/v1/models/{model_id}?wait=61")
    assert too_long.status_code == 422 and "RELUMAP_MAX_WAIT_SECONDS" in str(too_long.get_json())
    answers: list[Any] = []

    def request() -> None:
        response = web.test_client().get(f"/v1/models/{model_id}?wait=60")
        answers.append((response.status_code, response.get_json()))

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    until_waiting(web)
    app_factory(FIT_WAIT_RECHECK_SECONDS=NEVER)  # its embedded consumer takes the fit
    thread.join(BOUND)
    assert not thread.is_alive(), "the waiting GET was not woken by the fit's end"
    assert answers[0][0] == 200 and answers[0][1]["status"] == "succeeded"
    # A settled model is answered at once, whatever the wait.
    started = time.monotonic()
    assert client.get(f"/v1/models/{model_id}?wait=60").get_json()["status"] == "succeeded"
    assert time.monotonic() - started < BOUND


def test_a_fit_finished_in_the_same_process_releases_the_waiting_request(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(FIT_WAIT_RECHECK_SECONDS=NEVER)
    answers: list[Any] = []
    thread = post_and_wait(app, upload(app), answers)
    thread.join(BOUND)
    assert not thread.is_alive()
    assert answers[0][0] == 201 and answers[0][1]["status"] == "succeeded"


def test_deleting_a_queued_model_releases_the_request_waiting_for_it(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(EMBEDDED_WORKER=False, FIT_WAIT_RECHECK_SECONDS=NEVER)
    answers: list[Any] = []
    thread = post_and_wait(app, upload(app), answers)
    until_waiting(app)
    (model,) = app.test_client().get("/v1/models").get_json()
    assert app.test_client().delete(f"/v1/models/{model['id']}").status_code == 204
    thread.join(BOUND)
    assert not thread.is_alive(), "the waiting request was not woken by the deletion"
    assert answers[0][0] == 202 and answers[0][1]["status"] == "queued"


def test_an_idle_consumer_thread_is_woken_by_a_queued_fit(tmp_path: Any) -> None:
    # A worker whose polling delay is 1000 s runs a task queued after it fell
    # asleep: only the wake-up can have started it.
    huey = make_huey(f"sqlite:///{tmp_path / 'queue.db'}", "wake")
    ran = threading.Event()
    task = huey.task(name="mark")(ran.set)
    stop, wakeup = threading.Event(), threading.Event()
    worker = _WakeableWorker(
        huey=huey, stop_flag=stop, default_delay=NEVER, max_delay=NEVER, backoff=1.0, wakeup=wakeup
    )
    asleep = threading.Event()
    original = worker.sleep

    def sleep() -> None:
        asleep.set()
        original()

    worker.sleep = sleep  # type: ignore[method-assign]

    def run() -> None:
        while not stop.is_set():
            worker.loop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert asleep.wait(BOUND)
    task()
    wakeup.set()  # what FitQueue.submit does after queueing
    assert ran.wait(BOUND), "the sleeping worker was not woken"
    stop.set()
    wakeup.set()
    thread.join(BOUND)
    assert isinstance(worker, Worker)


@pytest.mark.parametrize("message", ["settled abc", "queued abc"])
def test_events_reach_only_what_they_concern(message: str) -> None:
    events = FitEvents()
    with events.watch("abc") as abc, events.watch("other") as other:
        events._deliver(message)
        assert abc.is_set() == message.startswith("settled")
        assert not other.is_set()
        assert events.work_queued.is_set() == message.startswith("queued")
    assert events.waiting() == 0
