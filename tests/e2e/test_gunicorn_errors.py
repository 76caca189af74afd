"""Errors gunicorn answers itself, and chunked bodies, over loopback HTTP to the real server."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.servers import running_service

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def raw_request(url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes as they are; return the status line, the headers and the body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


@pytest.mark.slow
def test_gunicorn_own_errors_are_problem_documents(tmp_path: Path) -> None:
    with running_service(tmp_path, "--workers", "1") as url:
        # Over gunicorn's limit_request_line (4094 bytes): refused before the app.
        status, headers, body = raw_request(
            url, b"GET /v1/datasets?name=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert status.startswith("HTTP/1.1 414")
        assert headers["Content-Type"] == PROBLEM
        problem = json.loads(body)
        assert problem["status"] == 414
        assert "4094" in problem["detail"]

        status, headers, body = raw_request(url, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.startswith("HTTP/1.1 400")
        assert headers["Content-Type"] == PROBLEM
        assert json.loads(body)["status"] == 400

        # The service still answers.
        assert requests.get(url + "/v1", timeout=10).status_code == 200


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_under_gunicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 4000
    monkeypatch.setenv("RELUMAP_MAX_REQUEST_BYTES", str(limit))
    csv = ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(2000))).encode()
    with running_service(tmp_path, "--workers", "1") as url:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        pieces = (csv[i : i + 500] for i in range(0, len(csv), 500))
        connection.request(
            "POST",
            "/v1/datasets",
            body=pieces,
            headers={"Content-Type": "text/csv"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == PROBLEM
        assert f"RELUMAP_MAX_REQUEST_BYTES={limit}" in json.loads(response.read())["detail"]
        connection.close()
        assert requests.get(url + "/v1/datasets", timeout=10).json() == []
