"""The real service on a loopback port, a scripted server for failures, and shared fits.

The client is tested over real HTTP: ``live_url`` serves ``create_app`` with
werkzeug's threaded server (its fits run on the embedded queue), and
:class:`ScriptedServer` answers from a script (503 twice, then 200; a slow
answer) where the real service cannot be made to fail on demand.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

import relumap
from tests.conftest import close_app, make_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "client"


class Serving:
    """A WSGI app served on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


class ScriptedServer:
    """Answers each request with the next :class:`Reply` (the last one repeats).

    ``seen`` records every request: method, path, query, headers and body.
    """

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._serving = Serving(self._app)
        self.url = self._serving.url

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.seen.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.args.to_dict(),
                    "headers": dict(request.headers),
                    "body": request.get_data(),
                }
            )
            reply = self.replies[min(len(self.seen), len(self.replies)) - 1]
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        response = Response(
            body, status=reply.status, headers=reply.headers, content_type=reply.content_type
        )
        return response(environ, start_response)

    def stop(self) -> None:
        self._serving.stop()


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Reply:
    """A problem+json reply, as the service writes them."""
    body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
    return Reply(status, body, headers=headers or {}, content_type="application/problem+json")


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(*replies: Reply) -> ScriptedServer:
        server = ScriptedServer(*replies)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = make_app(tmp_path_factory.mktemp("relumap-client"))
    yield app
    close_app(app)


@pytest.fixture(scope="session")
def live_url(live_app: Any) -> Iterator[str]:
    serving = Serving(live_app)
    yield serving.url
    serving.stop()


@pytest.fixture
def api(live_url: str) -> Iterator[relumap.Client]:
    with relumap.Client(live_url, timeout=(3.05, 60)) as client:
        yield client


@pytest.fixture(scope="session")
def session_api(live_url: str) -> Iterator[relumap.Client]:
    with relumap.Client(live_url, timeout=(3.05, 60)) as client:
        yield client


@pytest.fixture(scope="session")
def square(session_api: relumap.Client) -> relumap.Dataset:
    return session_api.generate("square", n_samples=160, noise=0.05, random_state=0)


@pytest.fixture(scope="session")
def square_model(session_api: relumap.Client, square: relumap.Dataset) -> relumap.Model:
    return session_api.fit(square, hidden_layer_sizes=[8], max_iter=2000, progress=False)


@pytest.fixture(scope="session")
def xor(session_api: relumap.Client) -> relumap.Dataset:
    return session_api.generate("xor", n_samples=200, noise=0.0, random_state=1)


@pytest.fixture(scope="session")
def xor_model(session_api: relumap.Client, xor: relumap.Dataset) -> relumap.Model:
    return session_api.fit(xor, hidden_layer_sizes=[8], max_iter=2000, progress=False)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
