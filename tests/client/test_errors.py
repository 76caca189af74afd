"""Every exception type, each produced by a real bad request.

Errors the real service answers on demand (422, 404, 409, 413) come from it;
failures it cannot be made to produce (500, a 503 that lasts, a slow answer, a
401 while API keys are not enforced) come from a scripted server on loopback.
Nothing is mocked inside the client.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

import relumap
from tests.client.conftest import Reply, ScriptedServer, problem


def test_validation_error_carries_the_field_errors(
    api: relumap.Client, square: relumap.Dataset
) -> None:
    with pytest.raises(relumap.ValidationError) as info:
        api.fit(square, hidden_layer_sizes=[0], wait=False)
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, relumap.RelumapError)
    assert error.status == 422 and error.response is not None
    assert error.response.status_code == 422
    assert error.problem["status"] == 422 and error.problem["title"] == "Unprocessable Entity"
    assert error.errors == {"hidden_layer_sizes": {"0": ["Must be greater than or equal to 1."]}}
    assert "hidden_layer_sizes" in error.detail
    assert str(error).startswith("422 Unprocessable Entity: hidden_layer_sizes")
    assert error.url is not None and error.url.endswith("/v1/models")


def test_unknown_parameter_is_a_validation_error(api: relumap.Client) -> None:
    with pytest.raises(relumap.ValidationError, match="kind") as info:
        api.generate("no-such-kind")
    assert "kind" in info.value.errors


def test_not_found_is_a_lookup_error(api: relumap.Client) -> None:
    with pytest.raises(LookupError) as info:
        api.model("0" * 32)
    assert isinstance(info.value, relumap.NotFound)
    assert info.value.status == 404 and "no model with id" in info.value.detail
    with pytest.raises(relumap.NotFound, match="no dataset"):
        api.dataset("f" * 32)


def test_conflict_names_what_to_do(
    api: relumap.Client, square: relumap.Dataset, square_model: relumap.Model
) -> None:
    with pytest.raises(relumap.Conflict) as info:
        square.delete()
    assert info.value.status == 409 and "cascade" in info.value.detail


def test_payload_too_large_names_the_limit(api: relumap.Client) -> None:
    limit = api.info()["limits"]["samples"]
    with pytest.raises(relumap.PayloadTooLarge, match="RELUMAP_MAX_SAMPLES") as info:
        api.generate("square", n_samples=limit + 1)
    assert info.value.status == 413 and isinstance(info.value, ValueError)


def test_unauthorized_from_a_401_problem(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(problem(401, "send Authorization: Bearer <key>"))
    with relumap.Client(server.url, api_key="wrong") as client:
        with pytest.raises(relumap.Unauthorized) as info:
            client.datasets()
    assert isinstance(info.value, PermissionError) and info.value.status == 401
    assert server.seen[0]["headers"]["Authorization"] == "Bearer wrong"


def test_unauthorized_from_the_real_service(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELUMAP_API_KEY", raising=False)
    from tests.client.conftest import Serving
    from tests.conftest import close_app, make_app

    app = make_app(tmp_path_factory.mktemp("keyed"), API_KEY="s3cret", EMBEDDED_WORKER=False)
    serving = Serving(app)
    try:
        for key, detail in ((None, "needs an API key"), ("wrong", "not valid")):
            with relumap.Client(serving.url, api_key=key, retries=0) as client:
                with pytest.raises(relumap.Unauthorized, match=detail) as info:
                    client.datasets()
            assert info.value.status == 401 and isinstance(info.value, PermissionError)
        with relumap.Client(serving.url, api_key="s3cret", retries=0) as client:
            assert isinstance(client.datasets(), list)
    finally:
        serving.stop()
        close_app(app)


def test_server_error_from_a_500(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(
        problem(500, "the service failed to handle this request; the error is logged")
    )
    with relumap.Client(server.url) as client:
        with pytest.raises(relumap.ServerError, match="error is logged") as info:
            client.info()
    assert info.value.status == 500 and not isinstance(info.value, relumap.ServiceUnavailable)
    assert len(server.seen) == 1  # 500 is not retried


def test_service_unavailable_after_the_retries(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(problem(503, "not ready: queue unreachable", {"Retry-After": "0"}))
    with relumap.Client(server.url, retries=2) as client:
        with pytest.raises(relumap.ServiceUnavailable, match="queue unreachable") as info:
            client.info()
    assert isinstance(info.value, relumap.ServerError) and info.value.status == 503
    assert len(server.seen) == 3


def test_an_error_page_that_is_not_json_still_gives_its_text(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(Reply(502, "<html>Bad Gateway</html>", content_type="text/html"))
    with relumap.Client(server.url, retries=0) as client:
        with pytest.raises(relumap.ServiceUnavailable, match="Bad Gateway") as info:
            client.info()
    assert info.value.problem == {}


def test_other_client_errors_are_http_errors(live_url: str) -> None:
    with relumap.Client(live_url) as client:
        with pytest.raises(relumap.HTTPError) as info:
            client._request("POST", "/v1/models", data=b"x", content_type="text/plain")
    assert info.value.status == 415 and type(info.value) is relumap.HTTPError


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_failed_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with relumap.Client(url, retries=1) as client:
        with pytest.raises(relumap.ConnectionFailed) as info:
            client.datasets()
    error = info.value
    assert isinstance(error, ConnectionError) and error.status is None
    assert error.url is not None and error.url.startswith(url + "/v1")
    assert url in str(error) and "RELUMAP_URL" in str(error)


def test_a_slow_answer_times_out(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(Reply(200, {"name": "relumap"}, delay=1.5))
    with relumap.Client(server.url, timeout=(1, 0.3), retries=0) as client:
        with pytest.raises(relumap.Timeout, match="timed out") as info:
            client.info()
    assert isinstance(info.value, TimeoutError) and info.value.url == server.url + "/v1"


def test_one_root_catches_everything() -> None:
    for name in relumap.errors.__all__:
        cls = getattr(relumap, name, None)
        if isinstance(cls, type):
            assert issubclass(cls, relumap.RelumapError)
