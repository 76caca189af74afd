"""Schemathesis over the whole OpenAPI document: no 5xx, no response outside the spec."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import close_app, make_app

# Built at import time because schemathesis parametrizes at collection. No consumer
# runs: fits stay queued, so fuzzing exercises the API and not the solver.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="relumap-fuzz-"))
_APP = make_app(_DATA_DIR, EMBEDDED_WORKER=False, MAX_SAMPLES=2000)
# ONNX model bodies are bytes: send them as schemathesis sends octet streams.
schemathesis.serializer.alias("application/onnx", "application/octet-stream")
schema = schemathesis.openapi.from_wsgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    close_app(_APP)
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_the_spec(case: Any) -> None:
    # Every check runs but "schema-valid data must be accepted": a body can match the
    # schema and still be wrong data (three feature columns, a single class), which
    # the service rightly answers with a 422 problem.
    # Called through WSGI, nothing would undo compression: ask for none
    # (tests/api/test_transport.py checks the compressed answers).
    case.call_and_validate(
        headers={"Accept-Encoding": "identity"}, excluded_checks=[positive_data_acceptance]
    )
