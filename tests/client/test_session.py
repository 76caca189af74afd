"""The session: retries with backoff and Retry-After, idempotent POSTs, identity, settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import requests
from werkzeug.wrappers import Request, Response

import relumap
from relumap._session import retry_policy
from tests.client.conftest import Reply, ScriptedServer, Serving, problem

OK = Reply(200, {"name": "relumap", "version": "0.1.0"})
UNAVAILABLE = problem(503, "not ready", {"Retry-After": "0"})


def test_503_twice_then_an_answer(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(UNAVAILABLE, UNAVAILABLE, OK)
    with relumap.Client(server.url) as client:
        assert client.info()["name"] == "relumap"
    assert [s["path"] for s in server.seen] == ["/v1"] * 3


@pytest.mark.parametrize("status", [429, 502, 504])
def test_other_transient_statuses_are_retried(
    scripted: Callable[..., ScriptedServer], status: int
) -> None:
    server = scripted(problem(status, "busy", {"Retry-After": "0"}), OK)
    with relumap.Client(server.url) as client:
        assert client.info()["version"] == "0.1.0"
    assert len(server.seen) == 2


def test_retry_after_is_honoured(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(problem(503, "restarting", {"Retry-After": "1"}), OK)
    with relumap.Client(server.url) as client:
        started = time.monotonic()
        client.info()
        waited = time.monotonic() - started
    assert len(server.seen) == 2 and waited >= 0.95


def test_client_errors_are_not_retried(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(problem(422, "bad"))
    with relumap.Client(server.url) as client, pytest.raises(relumap.ValidationError):
        client.info()
    assert len(server.seen) == 1


def test_retries_zero_gives_the_first_error(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(UNAVAILABLE, OK)
    with relumap.Client(server.url, retries=0) as client, pytest.raises(relumap.ServiceUnavailable):
        client.info()
    assert len(server.seen) == 1


def test_a_retried_post_repeats_its_idempotency_key(
    scripted: Callable[..., ScriptedServer],
) -> None:
    dataset = {
        "id": "a" * 32,
        "name": "square",
        "n_samples": 5,
        "n_features": 1,
        "bounds": {"min": [0.0], "max": [1.0]},
    }
    server = scripted(UNAVAILABLE, UNAVAILABLE, Reply(201, dataset))
    with relumap.Client(server.url) as client:
        assert client.generate("square", n_samples=5).id == "a" * 32
        client.generate("square", n_samples=5)
    keys = [s["headers"].get("Idempotency-Key") for s in server.seen]
    assert len(keys) == 4 and keys[0] and keys[0] == keys[1] == keys[2] != keys[3]
    assert all(len(k) == 32 for k in keys)
    assert server.seen[0]["body"] == server.seen[2]["body"]


def test_reads_carry_no_idempotency_key(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(Reply(200, []))
    with relumap.Client(server.url) as client:
        client.datasets()
    assert "Idempotency-Key" not in server.seen[0]["headers"]


class LosingProxy:
    """Forwards to the real service, but loses the answer to the first matching POST.

    The upstream service acts on that first request (the model is created),
    then the proxy answers 503 as a gateway that dropped the response would,
    and the client retries.
    """

    def __init__(self, upstream: str, path: str) -> None:
        self.upstream, self.path = upstream, path
        self.forwarded: list[tuple[dict[str, str], requests.Response]] = []
        self._lost = False
        self._lock = threading.Lock()
        self._serving = Serving(self._app)
        self.url = self._serving.url

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            data=request.get_data(),
            headers=headers,
            timeout=30,
        )
        with self._lock:
            if request.method == "POST" and request.path == self.path:
                self.forwarded.append((headers, upstream))
            lose = request.method == "POST" and request.path == self.path and not self._lost
            self._lost = self._lost or lose
        if lose:
            response = Response(
                '{"detail": "upstream answer lost"}',
                status=503,
                headers={"Retry-After": "0"},
                content_type="application/problem+json",
            )
        else:
            keep = {"Content-Type", "Location", "Idempotent-Replayed", "X-Pagination"}
            response = Response(
                upstream.content,
                status=upstream.status_code,
                headers={k: v for k, v in upstream.headers.items() if k in keep},
            )
        return response(environ, start_response)

    def stop(self) -> None:
        self._serving.stop()


@pytest.fixture
def losing_proxy(live_url: str) -> Iterator[Callable[[str], LosingProxy]]:
    proxies: list[LosingProxy] = []

    def start(path: str) -> LosingProxy:
        proxies.append(LosingProxy(live_url, path))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.stop()


def test_a_retried_fit_creates_one_model(
    losing_proxy: Callable[[str], LosingProxy], api: relumap.Client
) -> None:
    data = api.generate("abs", n_samples=40, random_state=11)
    proxy = losing_proxy("/v1/models")
    with relumap.Client(proxy.url) as client:
        model = client.fit(data, hidden_layer_sizes=[3], wait=False)
    (first_headers, first), (again_headers, again) = proxy.forwarded
    assert first.status_code == 202 and again.status_code == 202
    assert first_headers["Idempotency-Key"] == again_headers["Idempotency-Key"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert model.id == first.json()["id"] == again.json()["id"]
    assert [m.id for m in api.models(dataset=data)] == [model.id]
    api.model(model.id).wait()


def test_a_retried_upload_creates_one_data_set(
    losing_proxy: Callable[[str], LosingProxy], api: relumap.Client
) -> None:
    before = {d.id for d in api.datasets()}
    proxy = losing_proxy("/v1/datasets")
    with relumap.Client(proxy.url) as client:
        data = client.upload([[0.0], [1.0], [2.0]], [3.0, 2.0, 1.0], name="once")
    created = [d for d in api.datasets() if d.id not in before]
    assert [d.id for d in created] == [data.id] and data.name == "once"
    assert len(proxy.forwarded) == 2


def test_identity_and_api_key_headers(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(OK)
    with relumap.Client(server.url + "/", api_key="k3y") as client:
        assert client.base_url == server.url
        client.info()
    headers = server.seen[0]["headers"]
    assert headers["Authorization"] == "Bearer k3y"
    assert (
        headers["User-Agent"]
        == f"relumap/{relumap.__version__} python-requests/{requests.__version__}"
    )
    assert headers["Accept"] == "application/json"


def test_environment_gives_url_and_key(
    scripted: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = scripted(OK)
    monkeypatch.setenv("RELUMAP_URL", server.url)
    monkeypatch.setenv("RELUMAP_API_KEY", "from-env")
    with relumap.Client() as client:
        client.info()
    assert server.seen[0]["headers"]["Authorization"] == "Bearer from-env"


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELUMAP_URL", raising=False)
    monkeypatch.delenv("RELUMAP_API_KEY", raising=False)
    with relumap.Client() as client:
        assert client.base_url == "http://127.0.0.1:8000" and client.api_key is None
        assert client.timeout == (3.05, 60)
        assert repr(client) == "Client('http://127.0.0.1:8000')"


def test_no_authorization_header_without_a_key(
    scripted: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELUMAP_API_KEY", raising=False)
    server = scripted(OK)
    with relumap.Client(server.url) as client:
        client.info()
    assert "Authorization" not in server.seen[0]["headers"]


def test_every_call_has_the_timeout(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(Reply(201, {"id": "b" * 32, "status": "queued"}, delay=1.0))
    with relumap.Client(server.url, timeout=0.2, retries=0) as client:
        for call in (
            client.info,
            lambda: client.model("b" * 32),
            lambda: client.fit("c" * 32, wait=False),
            lambda: client.datasets(),
        ):
            with pytest.raises(relumap.Timeout):
                call()


def test_a_given_session_is_used_and_left_open(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(OK)
    session = requests.Session()
    session.headers["X-Team"] = "geometry"
    with relumap.Client(server.url, session=session) as client:
        assert client.session is session
        client.info()
    assert server.seen[0]["headers"]["X-Team"] == "geometry"
    session.get(server.url + "/v1", timeout=5).close()  # still usable
    session.close()


def test_retry_policy() -> None:
    policy = retry_policy(3)
    assert policy.total == 3 and policy.respect_retry_after_header
    assert set(policy.status_forcelist or ()) == {429, 502, 503, 504}
    assert "POST" in (policy.allowed_methods or ()) and not policy.raise_on_status
    assert retry_policy(policy) is policy
    with pytest.raises(ValueError, match="retries"):
        retry_policy(-1)


def test_a_timeout_is_required() -> None:
    for bad in (None, 0, (3.05, -1)):
        with pytest.raises(ValueError, match="timeout"):
            relumap.Client("http://127.0.0.1:9", timeout=bad)  # type: ignore[arg-type]


def test_lower_service_limits_are_respected(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import close_app, make_app

    app = make_app(
        tmp_path_factory.mktemp("limits"),
        MAX_PREDICT_ROWS=5,
        MAX_PAGE_SIZE=2,
        EMBEDDED_WORKER=False,
    )
    serving = Serving(app)
    try:
        with relumap.Client(serving.url) as client:
            made = [client.generate("abs", n_samples=10, random_state=i).id for i in range(5)]
            assert sorted(d.id for d in client.datasets()) == sorted(made)
            model = client.network([[[1.0, -1.0]], [[1.0], [1.0]]], [[0.0, 0.0], [0.0]])
            x = np.linspace(-3, 3, 12)
            np.testing.assert_allclose(model.predict(x), np.abs(x), rtol=1e-15)
            assert client.limit("predict_rows", 100) == 5 and client.limit("page_size", 100) == 2
    finally:
        serving.stop()
        close_app(app)


def test_a_post_still_in_progress_is_sent_again(scripted: Callable[..., ScriptedServer]) -> None:
    dataset = {
        "id": "d" * 32,
        "name": "x",
        "n_samples": 2,
        "n_features": 1,
        "bounds": {"min": [0.0], "max": [1.0]},
    }
    busy = problem(
        409, "a request with this Idempotency-Key is still in progress", {"Retry-After": "0"}
    )
    server = scripted(busy, busy, Reply(201, dataset))
    with relumap.Client(server.url) as client:
        assert client.generate("abs").id == "d" * 32
    keys = {s["headers"]["Idempotency-Key"] for s in server.seen}
    assert len(server.seen) == 3 and len(keys) == 1


def test_a_real_conflict_is_not_sent_again(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(problem(409, "2 model(s) use it"))
    with relumap.Client(server.url) as client, pytest.raises(relumap.Conflict, match="use it"):
        client.generate("abs")
    assert len(server.seen) == 1
