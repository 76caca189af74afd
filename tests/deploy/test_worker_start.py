"""A worker's metrics port taken after the check still ends the worker with one clear error."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from relumap_service.config import load_config
from relumap_service.jobs import FitQueue
from relumap_service.store import Store
from relumap_service.worker import WorkerStartError, _ReapingConsumer, check_port_free


def test_a_port_taken_between_the_check_and_the_start_stops_the_forked_workers(
    tmp_path: Path,
) -> None:
    config = load_config({"DATA_DIR": str(tmp_path)})
    store = Store.open(config)
    queue = FitQueue(config, store)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WorkerStartError, match=f"127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)
        consumer = _ReapingConsumer(
            queue, "127.0.0.1", port, workers=1, worker_type="process", periodic=False
        )
        with pytest.raises(WorkerStartError, match="its own port"):
            consumer.start()
    deadline = time.monotonic() + 10
    forked = [process for _, process in consumer.worker_threads] + [consumer.scheduler]
    while any(process.is_alive() for process in forked):
        assert time.monotonic() < deadline, "a forked worker outlived the failed start"
        time.sleep(0.1)
    store.dispose()
