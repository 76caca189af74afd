"""The scale-out topology as local processes: gunicorn API, separate workers, PostgreSQL, Redis.

The same processes docker-compose.yml starts, without Docker: ``relumap-service
serve --workers 2 --no-embedded-worker`` and two ``relumap-service worker``
processes, on a database and a queue of this module's own. The HTTP helpers are
small on purpose, to be swapped for the ``relumap`` client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import postgres_database, redis_queue, require_scale_out_servers
from tests.e2e.servers import SCRIPT, free_port

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 5.0
TIMEOUT = 10  # seconds, for each HTTP call
FINISHED = ("succeeded", "failed")


# -- HTTP helpers (to be replaced by the relumap client) -------------------------------
def generate(url: str, kind: str, n_samples: int) -> str:
    response = requests.post(
        f"{url}/v1/datasets/generate", json={"kind": kind, "n_samples": n_samples}, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def submit_fit(url: str, dataset_id: str, **params: Any) -> str:
    response = requests.post(
        f"{url}/v1/models",
        json={"dataset_id": dataset_id, **params},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def get_model(url: str, model_id: str) -> dict[str, Any]:
    response = requests.get(f"{url}/v1/models/{model_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(url: str, model_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(model_ids) and time.monotonic() < deadline:
        for model_id in model_ids:
            if model_id not in done:
                body = get_model(url, model_id)
                if body["status"] in FINISHED:
                    done[model_id] = body
        time.sleep(0.2)
    return done


def predict(url: str, model_id: str, X: np.ndarray) -> dict[str, Any]:
    response = requests.post(
        f"{url}/v1/models/{model_id}/predict", json={"X": X.tolist()}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def weights(url: str, model_id: str) -> dict[str, Any]:
    response = requests.get(f"{url}/v1/models/{model_id}/weights", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def list_all(url: str, collection: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        response = requests.get(
            f"{url}/v1/{collection}", params={"page": page, "page_size": 100}, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        found.update({item["id"]: item for item in response.json()})
        if json.loads(response.headers["X-Pagination"]).get("next_page") is None:
            return found
        page += 1


def metrics(url: str) -> dict[str, float]:
    """Return the samples of a Prometheus text exposition, keyed by name and labels."""
    text_body = requests.get(url, timeout=TIMEOUT).text
    samples = {}
    for line in text_body.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


# -- an independent forward pass ---------------------------------------------------------
def forward(document: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """Evaluate scikit-learn-layout weights with numpy: ReLU hidden layers, affine output."""
    assert document["layout"] == "sklearn" and document["activation"] == "relu"
    a = X
    layers = list(zip(document["coefs"], document["intercepts"], strict=True))
    for coef, intercept in layers[:-1]:
        a = np.maximum(a @ np.asarray(coef) + np.asarray(intercept), 0.0)
    coef, intercept = layers[-1]
    return np.asarray(a @ np.asarray(coef) + np.asarray(intercept))


# -- the processes -----------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """Return the ids of the live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces; the fields after its ")" do not.
            fields = stat.rpartition(")")[2].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return lines


@dataclass
class Stack:
    """The processes of the topology and where they write their logs."""

    directory: Path
    env: dict[str, str]
    database_url: str
    url: str = ""
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_metrics: list[str] = field(default_factory=list)
    starts: int = 0

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.starts += 1
        with (self.directory / f"{name}-{self.starts}.log").open("wb") as log:
            return subprocess.Popen(
                [str(SCRIPT), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def start_api(self, wait: bool = True) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.api = self._spawn(
            "api",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-embedded-worker",
            "--no-migrate",
        )
        if wait:
            wait_until_ready(self.url + "/readyz", self.api)

    def stop_api(self) -> None:
        assert self.api is not None
        self.api.send_signal(signal.SIGTERM)
        self.api.wait(timeout=60)

    def start_worker(self) -> None:
        port = free_port()
        worker = self._spawn(
            "worker", "worker", "--workers", "1", "--metrics-port", str(port), "--no-migrate"
        )
        self.workers.append(worker)
        self.worker_metrics.append(f"http://127.0.0.1:{port}/metrics")

    def wait_until_up(self) -> None:
        assert self.api is not None
        wait_until_ready(self.url + "/readyz", self.api)
        for worker, url in zip(self.workers, self.worker_metrics, strict=True):
            wait_until_ready(url, worker)

    def logs(self, name: str) -> list[dict[str, Any]]:
        return [line for path in self.directory.glob(f"{name}-*.log") for line in json_lines(path)]

    def worker_of(self, model_id: str) -> str | None:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                query = text("SELECT worker FROM models WHERE id = :id AND status = 'running'")
                return connection.execute(query, {"id": model_id}).scalar()
        finally:
            engine.dispose()

    def stop(self) -> None:
        for process in [*self.workers, *([self.api] if self.api else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, *([self.api] if self.api else [])]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.args} did not come up (exit code {process.poll()})")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_scale_out_servers()
    directory = tmp_path_factory.mktemp("scale-out")
    with postgres_database() as database_url, redis_queue() as queue:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RELUMAP_")},
            "RELUMAP_DATA_DIR": str(directory / "var"),
            "RELUMAP_DATABASE_URL": database_url,
            "RELUMAP_QUEUE_URL": queue["QUEUE_URL"],
            "RELUMAP_QUEUE_NAME": queue["QUEUE_NAME"],
            "RELUMAP_FIT_LEASE_SECONDS": str(LEASE_SECONDS),
            "RELUMAP_FIT_MAX_ATTEMPTS": "2",
            "RELUMAP_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        migrate = subprocess.run(
            [str(SCRIPT), "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr
        stack = Stack(directory, env, database_url)
        try:
            stack.start_api(wait=False)
            stack.start_worker()
            stack.start_worker()
            stack.wait_until_up()
            yield stack
        finally:
            stack.stop()


# -- the tests ---------------------------------------------------------------------------
def test_web_and_worker_processes_run_blas_on_one_thread_and_web_ones_freeze_the_app(
    stack: Stack,
) -> None:
    # Each process logs its native thread pools (threadpoolctl) once it has loaded numpy.
    deadline = time.monotonic() + 60
    while True:
        web = [line for line in stack.logs("api") if line.get("message") == "web process ready"]
        fits = [x for x in stack.logs("worker") if x.get("message") == "fit process ready"]
        if len({line["pid"] for line in web}) >= 2 and len({line["pid"] for line in fits}) >= 2:
            break
        assert time.monotonic() < deadline, (web, fits)
        time.sleep(0.2)
    for line in web + fits:
        assert line["native_threads"] and set(line["native_threads"].values()) == {1}, line
    # Each web process froze its loaded app out of the garbage collector's full passes.
    for line in web:
        assert line["gc_frozen"] > 100_000, line


def test_forty_concurrent_fits_all_succeed_once_and_predict_like_their_weights(
    stack: Stack,
) -> None:
    datasets = [generate(stack.url, "square", 80), generate(stack.url, "abs", 80)]
    posts = '{method="POST",route="/v1/models",status="202"}'
    requests_before = metrics(stack.url + "/metrics").get("relumap_http_requests_total" + posts, 0)

    def submit_five(thread: int) -> list[str]:
        return [
            submit_fit(
                stack.url,
                datasets[(thread + i) % 2],
                hidden_layer_sizes=[4 + (thread + i) % 5],
                max_iter=300,
                random_state=thread * 5 + i,
            )
            for i in range(5)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        model_ids = [model_id for five in pool.map(submit_five, range(8)) for model_id in five]
    assert len(model_ids) == len(set(model_ids)) == 40

    done = wait_for(stack.url, model_ids, timeout=240)
    assert set(done) == set(model_ids), "fits lost or never finished"
    assert {body["status"] for body in done.values()} == {"succeeded"}
    assert {body["attempts"] for body in done.values()} == {1}
    # Exactly these 40 exist: nothing duplicated by retries or by two consumers.
    listed = list_all(stack.url, "models")
    assert set(model_ids) <= set(listed)
    assert sum(1 for m in listed.values() if m["dataset_id"] in datasets) == 40

    # Each fit ran once, in one of the two worker processes, and logged its outcome.
    finished = [line for line in stack.logs("worker") if line.get("message") == "fit succeeded"]
    runs = [line["model_id"] for line in finished if line["model_id"] in done]
    assert sorted(runs) == sorted(model_ids)
    assert all(line["duration_seconds"] > 0 for line in finished)
    assert len({line["pid"] for line in finished if line["model_id"] in done}) == 2

    X = np.linspace(-2.5, 2.5, 11).reshape(-1, 1)
    for model_id in model_ids:
        got = np.asarray(predict(stack.url, model_id, X)["predictions"])
        np.testing.assert_allclose(got, forward(weights(stack.url, model_id), X)[:, 0], rtol=1e-9)

    # The API's counters add up both gunicorn workers; each worker counts its own fits.
    after = metrics(stack.url + "/metrics")
    assert after["relumap_http_requests_total" + posts] - requests_before == 40
    assert after['relumap_models{status="succeeded"}'] >= 40
    succeeded = sum(
        metrics(url).get('relumap_fits_finished_total{outcome="succeeded"}', 0)
        for url in stack.worker_metrics
    )
    assert succeeded >= 40

    # The API logs one JSON line per request, with its id, method, path, status and duration.
    posted = [
        line
        for line in stack.logs("api")
        if line.get("path") == "/v1/models" and line.get("method") == "POST"
    ]
    assert len(posted) >= 40
    for line in posted:
        assert line["status"] == 202
        assert len(line["request_id"]) == 32 and line["duration_ms"] > 0


@pytest.mark.slow
def test_a_fit_whose_worker_is_killed_is_retried_and_the_others_finish(stack: Stack) -> None:
    slow_data = generate(stack.url, "sine", 2000)
    quick_data = generate(stack.url, "square", 60)
    # A few seconds of SGD, so that it is surely running when its worker is killed.
    slow = submit_fit(
        stack.url, slow_data, hidden_layer_sizes=[64, 64], solver="sgd", max_iter=1000, tol=0
    )
    deadline = time.monotonic() + 60
    while (worker := stack.worker_of(slow)) is None:
        assert time.monotonic() < deadline, "the slow fit never started"
        time.sleep(0.05)
    others = [submit_fit(stack.url, quick_data, hidden_layer_sizes=[4]) for _ in range(6)]
    pid = int(worker.rpartition(":")[2])
    # Only ever kill a process this test started: a fit process of one of our workers.
    assert any(pid in children(w.pid) for w in stack.workers)
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    requeued_at = None
    while time.monotonic() - killed_at < 120:
        body = get_model(stack.url, slow)
        if requeued_at is None and (body["attempts"] == 2 or body["status"] == "queued"):
            requeued_at = time.monotonic()
        if body["status"] in FINISHED:
            break
        time.sleep(0.1)
    finished_at = time.monotonic()
    print(
        f"\nkilled fit: re-queued {requeued_at - killed_at:.1f} s after SIGKILL "
        f"(lease {LEASE_SECONDS:g} s), finished {finished_at - killed_at:.1f} s after"
        if requeued_at is not None
        else "\nkilled fit: never re-queued"
    )
    assert body["status"] == "succeeded", body
    assert body["attempts"] == 2
    assert requeued_at is not None
    # The lease ran out at most LEASE_SECONDS after the last renewal; the reaper looks
    # every third of it. The slack covers scheduling on a loaded machine.
    assert requeued_at - killed_at <= LEASE_SECONDS + LEASE_SECONDS / 3 + 3
    expired = [line for line in stack.logs("worker") if line.get("model_id") == slow]
    assert any(line.get("action") == "requeued" for line in expired)

    finished = wait_for(stack.url, others, timeout=120)
    assert {b["status"] for b in finished.values()} == {"succeeded"} and len(finished) == 6
    # The worker whose process was killed started a new one and keeps consuming.
    assert all(w.poll() is None for w in stack.workers)


@pytest.mark.slow
def test_everything_is_still_there_after_the_api_restarts(stack: Stack) -> None:
    data = generate(stack.url, "square", 60)
    model = wait_for(stack.url, [submit_fit(stack.url, data)], timeout=60)
    assert [b["status"] for b in model.values()] == ["succeeded"]
    datasets = list_all(stack.url, "datasets")
    models = list_all(stack.url, "models")
    X = np.array([[0.5], [1.5]])
    [model_id] = model
    before = predict(stack.url, model_id, X)

    stack.stop_api()
    stack.start_api()

    assert list_all(stack.url, "datasets") == datasets
    after = list_all(stack.url, "models")
    assert set(after) == set(models)
    for model_id_, body in models.items():
        assert after[model_id_]["status"] == body["status"]
        assert after[model_id_]["metrics"] == body["metrics"]
    assert predict(stack.url, model_id, X) == before
