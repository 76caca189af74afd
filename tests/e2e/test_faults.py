"""Faults with real processes: killed workers, busy ports, SIGTERM, a lost database, a full disk."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relumap_service.config import load_config
from relumap_service.jobs import FitQueue
from relumap_service.records import DatasetRecord, ModelRecord
from relumap_service.store import Store
from tests.conftest import make_app, postgres_database, require_scale_out_servers
from tests.deploy.test_fit_processes import LONG_FIT, descendants
from tests.e2e.servers import free_port, running_service

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).with_name("relumap-service")


def alive(pid: int) -> bool:
    """Return True if ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def describe(pids: list[int]) -> list[str]:
    """Return each process's command line, to say which outlived its parent."""
    found = []
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            found.append(f"{pid}: {cmdline.decode(errors='replace')[:200]}")
    return found


def queued_long_fit(data_dir: Path) -> tuple[Store, str]:
    """Store a long fit in ``data_dir``'s database and put it on its queue."""
    config = load_config({"DATA_DIR": str(data_dir)})
    store = Store.open(config)
    points = [[i / 500] for i in range(2000)]
    dataset = DatasetRecord(
        name="ramp",
        source="upload",
        n_samples=2000,
        n_features=1,
        task_hint="regression",
        bounds={},
        X=points,
        y=[abs(x[0] - 2) for x in points],
    )
    store.add(dataset)
    model = ModelRecord(
        dataset_id=dataset.id, source="fit", status="queued", task="regression", params=LONG_FIT
    )
    store.add(model)
    FitQueue(config, store).submit(model.id)
    return store, model.id


@contextlib.contextmanager
def worker(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [str(SCRIPT), "worker", "--data-dir", str(data_dir), "--workers", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RELUMAP_LOG_FORMAT": "text", **(env or {})},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def wait_running(store: Store, model_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (record := store.get_model(model_id)) is not None and record.status != "running":
        assert time.monotonic() < deadline, "the worker never started the fit"
        time.sleep(0.1)


def test_a_killed_worker_leaves_no_process_behind(tmp_path: Path) -> None:
    store, model_id = queued_long_fit(tmp_path)
    with worker(tmp_path, "--metrics-port", "0") as process:
        wait_running(store, model_id)
        deadline = time.monotonic() + 30
        # A Huey worker, the scheduler, the forkserver and the fit process at least.
        while len(children := descendants(process.pid)) < 4:
            assert time.monotonic() < deadline, children
            time.sleep(0.1)
        time.sleep(0.5)
        children = descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 8
        while survivors := [pid for pid in children if alive(pid)]:
            assert time.monotonic() < deadline, f"outlived their parent: {describe(survivors)}"
            time.sleep(0.1)
    store.dispose()


@pytest.mark.slow
def test_a_busy_metrics_port_is_a_one_line_fatal_error(tmp_path: Path) -> None:
    with socket.socket() as taken:  # what a first worker on this host holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with worker(tmp_path, "--metrics-port", str(port)) as process:
            _, stderr = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port} (already in use)" in lines[0], stderr


@pytest.mark.slow
def test_an_unreachable_database_at_start_up_ends_the_worker(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {**os.environ, "RELUMAP_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"}
    started = time.monotonic()
    done = subprocess.run(
        [str(SCRIPT), "worker", "--data-dir", str(tmp_path), "--metrics-port", "0"],
        capture_output=True,
        text=True,
        timeout=15,
        env=env,
    )
    assert time.monotonic() - started < 15
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], done.stderr


@pytest.mark.slow
def test_sigterm_ends_a_busy_worker_and_its_fit_is_queued_again(tmp_path: Path) -> None:
    store, model_id = queued_long_fit(tmp_path)
    with worker(tmp_path, "--metrics-port", "0", "--shutdown-timeout", "1") as process:
        wait_running(store, model_id)
        time.sleep(0.5)
        children = descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        process.wait(timeout=15)
        while survivors := [pid for pid in children if alive(pid)]:
            assert time.monotonic() < deadline, f"alive after SIGTERM: {describe(survivors)}"
            time.sleep(0.1)
    record = store.get_model(model_id)
    assert record is not None and record.status == "queued", record.status
    store.dispose()


@pytest.mark.slow
def test_a_worker_whose_database_was_replaced_stops_and_takes_no_fit(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path)})
    Store.open(config).dispose()
    with worker(
        tmp_path, "--metrics-port", "0", env={"RELUMAP_FIT_LEASE_SECONDS": "1.5"}
    ) as process:
        deadline = time.monotonic() + 30
        while len(descendants(process.pid)) < 2:  # its Huey worker runs
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        # A new deployment in the same place: the old file goes, a new database comes.
        for path in tmp_path.glob("relumap.db*"):
            path.unlink()
        store, model_id = queued_long_fit(tmp_path)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 1
    assert "was deleted or replaced" in stderr
    record = store.get_model(model_id)
    assert record is not None and record.status == "queued"  # left for its own workers
    store.dispose()


class CuttableProxy:
    """Forward loopback TCP connections to ``target`` until cut; restore to forward again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            for end in self._sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def assert_outage(response: Any, fragment: str = "unavailable") -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert fragment in response.get_json()["detail"]


def test_a_lost_database_is_a_503_on_every_route_then_the_service_recovers(
    tmp_path: Path,
) -> None:
    from sqlalchemy.engine import make_url

    require_scale_out_servers()
    with postgres_database() as url:
        parsed = make_url(url)
        proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
        app = make_app(tmp_path, DATABASE_URL=proxied, EMBEDDED_WORKER=False)
        client = app.test_client()
        try:
            body = {"name": "kept", "X": [[0.0], [1.0]], "y": [0.0, 1.0]}
            kept = client.post("/v1/datasets", json=body).get_json()["id"]
            proxy.cut()
            assert_outage(client.get("/v1/datasets"))
            assert_outage(client.get(f"/v1/datasets/{kept}"))
            assert_outage(client.get("/v1/models"))
            lost = {**body, "name": "lost"}
            assert_outage(client.post("/v1/datasets", json=lost, headers={"Idempotency-Key": "o"}))
            assert_outage(client.post("/v1/models", json={"dataset_id": kept}))
            assert client.get("/readyz").status_code == 503
            proxy.restore()
            listed = client.get("/v1/datasets")
            assert listed.status_code == 200
            assert [d["name"] for d in listed.get_json()] == ["kept"]  # nothing half-stored
            # The key of the request that met the outage is free: the retry runs.
            again = client.post("/v1/datasets", json=lost, headers={"Idempotency-Key": "o"})
            assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        finally:
            app.extensions["relumap"].store.dispose()
            proxy.close()


@pytest.mark.slow
def test_a_lost_queue_is_a_503_and_no_model_is_left_queued(tmp_path: Path) -> None:
    from tests.conftest import REDIS_URL, redis_queue

    require_scale_out_servers()
    from sqlalchemy.engine import make_url

    redis_at = make_url(REDIS_URL)
    proxy = CuttableProxy((redis_at.host or "127.0.0.1", redis_at.port or 6379))
    with redis_queue() as queue_settings:
        proxied = queue_settings["QUEUE_URL"].replace(
            f":{redis_at.port or 6379}/", f":{proxy.port}/"
        )
        app = make_app(tmp_path, **{**queue_settings, "QUEUE_URL": proxied}, EMBEDDED_WORKER=False)
        client = app.test_client()
        try:
            body = {"name": "line", "X": [[0.0], [1.0]], "y": [0.0, 1.0]}
            dataset_id = client.post("/v1/datasets", json=body).get_json()["id"]
            fit = {"dataset_id": dataset_id, "hidden_layer_sizes": [2]}
            proxy.cut()
            assert_outage(client.post("/v1/models", json=fit), "queue is unreachable")
            assert client.get("/readyz").status_code == 503
            assert client.get("/v1/models").get_json() == []  # nothing left queued
            proxy.restore()
            assert client.post("/v1/models", json=fit).status_code == 202
        finally:
            app.extensions["relumap"].store.dispose()
            proxy.close()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_a_503_and_writes_work_again_once_there_is_room(tiny_disk: Path) -> None:
    app = make_app(tiny_disk, EMBEDDED_WORKER=False)
    client = app.test_client()
    try:
        small = {"name": "small", "X": [[0.0], [1.0]], "y": [0.0, 1.0]}
        assert client.post("/v1/datasets", json=small).status_code == 201
        filler = tiny_disk / "filler"
        with filler.open("wb") as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        rows = 5000
        big = {"name": "big", "X": [[i / rows] for i in range(rows)], "y": [0.5] * rows}
        assert_outage(client.post("/v1/datasets", json=big))
        assert client.get("/v1/datasets").status_code == 200  # reads still work
        filler.unlink()
        assert client.post("/v1/datasets", json=big).status_code == 201
        names = sorted(d["name"] for d in client.get("/v1/datasets").get_json())
        assert names == ["big", "small"]
    finally:
        app.extensions["relumap"].store.dispose()
        app.extensions["relumap"].queue.huey.storage.close()


@pytest.mark.slow
def test_a_killed_web_process_leaves_no_fit_behind_nor_its_idempotency_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    monkeypatch.setenv("RELUMAP_WEB_WORKERS", "1")
    monkeypatch.setenv("RELUMAP_IDEMPOTENCY_LEASE_SECONDS", "4")
    with running_service(tmp_path) as url:
        points = [[i / 500] for i in range(2000)]
        data = {"name": "ramp", "X": points, "y": [abs(x - 2) for (x,) in points]}
        dataset_id = requests.post(url + "/v1/datasets", json=data, timeout=30).json()["id"]
        fit = {"dataset_id": dataset_id, **LONG_FIT}
        headers = {"Idempotency-Key": "fit-once"}
        outcome: dict[str, Any] = {}

        def waiting_request() -> None:
            try:
                requests.post(url + "/v1/models?wait=60", json=fit, headers=headers, timeout=90)
            except requests.RequestException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=waiting_request)
        thread.start()
        deadline = time.monotonic() + 60
        while not requests.get(url + "/v1/models?status=running", timeout=10).json():
            assert time.monotonic() < deadline, "the fit never started"
            time.sleep(0.2)
        time.sleep(1)
        server = [
            pid
            for pid in descendants(os.getpid())
            if b"--port" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        web_processes = [pid for pid in server if len(descendants(pid)) >= 2]
        web = min(web_processes, key=lambda pid: len(descendants(pid)))
        doomed = descendants(web) | {web}
        assert len(doomed) >= 3, describe(sorted(doomed))  # web, forkserver, fit (and tracker)
        os.kill(web, signal.SIGKILL)
        thread.join(30)
        assert "error" in outcome  # the request died with its process
        deadline = time.monotonic() + 8
        while survivors := [pid for pid in doomed if alive(pid)]:
            assert time.monotonic() < deadline, f"outlived their parent: {describe(survivors)}"
            time.sleep(0.1)
        # The killed request's key: held until its lease passes, then free.
        deadline = time.monotonic() + 60
        while True:
            try:
                retry = requests.post(url + "/v1/models", json=fit, headers=headers, timeout=30)
            except requests.ConnectionError:  # gunicorn is replacing the process
                retry = None
            if retry is not None and retry.status_code != 409:
                break
            assert time.monotonic() < deadline, "the key stayed reserved"
            time.sleep(0.5)
        assert retry.status_code == 202, retry.text
        requests.delete(url + f"/v1/models/{retry.json()['id']}", timeout=10)
