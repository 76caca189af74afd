"""Request ids, JSON log lines and the Prometheus endpoint."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from relumap_service.logs import JsonFormatter, logging_dict


class Lines(logging.Handler):
    """Collect what a logger writes, formatted as the service formats it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def access_log() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("relumap_service.requests")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_each_request_writes_one_json_line_with_its_request_id(
    client: FlaskClient, access_log: Lines
) -> None:
    response = client.get("/v1/datasets?page_size=5")
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = access_log.lines
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/datasets", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert {"ts", "level", "logger", "message", "pid"} <= set(line)


def test_a_callers_request_id_is_kept_and_a_strange_one_replaced(client: FlaskClient) -> None:
    given = client.get("/livez", headers={"X-Request-ID": "trace-42.a:b"})
    assert given.headers["X-Request-ID"] == "trace-42.a:b"
    odd = client.get("/livez", headers={"X-Request-ID": "has spaces\tand tabs"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    assert (
        client.get("/livez").headers["X-Request-ID"] != client.get("/livez").headers["X-Request-ID"]
    )


def test_errors_are_logged_with_their_status(client: FlaskClient, access_log: Lines) -> None:
    client.get("/v1/models/" + "0" * 32)
    assert access_log.lines[-1]["status"] == 404


def test_json_formatter_keeps_extra_fields_and_exceptions() -> None:
    try:
        raise ValueError("bad value 7")
    except ValueError:
        record = logging.LogRecord(
            "relumap_service.jobs",
            logging.ERROR,
            __file__,
            1,
            "fit %s",
            ("failed",),
            sys.exc_info(),
        )
    record.model_id = "abc"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "fit failed" and line["model_id"] == "abc"
    assert line["level"] == "ERROR" and "ValueError: bad value 7" in line["exc_info"]


def test_logging_dict_routes_gunicorn_through_one_handler() -> None:
    config = logging_dict("json", "debug")
    assert config["root"] == {"level": "DEBUG", "handlers": ["stderr"]}
    assert config["loggers"]["gunicorn.access"]["propagate"] is False


def metric(text: str, name: str, **labels: str) -> float:
    """Return one sample's value from a Prometheus text exposition."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        sample, _, rest = key.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if sample == name and found == wanted:
            return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}}")


def test_metrics_count_requests_and_models_by_status(app: Flask) -> None:
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    route = {"method": "GET", "route": "/v1/models/<id:model_id>", "status": "404"}
    try:
        start = metric(before, "relumap_http_requests_total", **route)
    except AssertionError:
        start = 0.0
    for _ in range(3):
        client.get("/v1/models/" + "0" * 32)
    data = client.post("/v1/datasets/generate", json={"kind": "abs", "n_samples": 20}).get_json()
    fitted = client.post("/v1/models?wait=30", json={"dataset_id": data["id"]}).get_json()
    assert fitted["status"] == "succeeded"
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert metric(text, "relumap_http_requests_total", **route) == start + 3
    assert metric(text, "relumap_models", status="succeeded") == 1
    assert metric(text, "relumap_models", status="queued") == 0
    assert metric(text, "relumap_queue_pending") == 0
    assert metric(text, "relumap_fits_finished_total", outcome="succeeded") >= 1
    assert "relumap_fit_duration_seconds_bucket" in text
    assert "relumap_http_request_duration_seconds_bucket" in text


def test_metrics_are_not_part_of_the_api_document(client: FlaskClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]
