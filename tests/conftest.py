"""Fixtures shared by the whole suite: an app on each backend, and its client.

The ``app`` fixture runs every test that uses it twice: on the embedded default
(SQLite database and queue under a temporary data dir) and on the scale-out
engines (a fresh PostgreSQL database on 127.0.0.1:5432 and a Redis queue of its
own on 127.0.0.1:6379), so the two configurations cannot drift apart. Outside
the storage-facing files in ``POSTGRES_SAMPLE`` the PostgreSQL variant is marked
``slow``: ``make test`` runs the sample, ``make test-all`` every variant.
``pytest --backend sqlite`` (or ``postgres``) runs one of them. Where PostgreSQL
or Redis is not reachable, the postgres variants are skipped with the reason,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from werkzeug.test import TestResponse

from relumap_service.app import create_app

REPO = Path(__file__).resolve().parents[1]
# The forum's networks with their exact answers. The playground ships a verbatim
# copy (a test keeps the two equal), so the seed tests run even without shared/.
SHARED_SEED_NETWORKS = REPO.parent / "shared" / "examples" / "seed_networks.json"
SHIPPED_SEED_NETWORKS = (
    REPO / "service" / "relumap_service" / "static" / "playground" / "seed_networks.json"
)
SEED_NETWORKS = SHARED_SEED_NETWORKS if SHARED_SEED_NETWORKS.exists() else SHIPPED_SEED_NETWORKS

# The servers of the machines this project's tests run on; override to point elsewhere.
POSTGRES_ADMIN_URL = os.environ.get(
    "RELUMAP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("RELUMAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ("sqlite", "postgres")

# CI gates a submission, so its property tests draw the same examples every run;
# elsewhere hypothesis explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")


# A lone UTF-16 surrogate escape: valid JSON syntax, but no Unicode text.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def check_strict_json(response: TestResponse) -> None:
    """Fail unless a JSON answer is strict JSON: no NaN, no Infinity, no lone surrogate."""
    mimetype = response.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        return
    if response.status_code in (204, 304) or response.request.method == "HEAD":
        return  # no body to read
    if "Content-Encoding" in response.headers:
        return  # compressed: tests/api/test_transport.py decodes and checks it
    data = response.get_data()
    try:
        json.loads(data, parse_constant=_no_constant)
    except ValueError as exc:
        pytest.fail(
            f"{response.request.method} {response.request.path} answered "
            f"{response.status} with a body that is not strict JSON: {exc}: {data[:300]!r}"
        )
    # An escaped backslash before "u" is text, not an escape: drop those pairs first.
    found = _LONE_SURROGATE.search(data.replace(b"\\\\", b""))
    if found:
        pytest.fail(f"{response.request.path} answered a lone surrogate {found.group()!r}")


class StrictJSONClient(FlaskClient):
    """The test client of every app in the suite: each JSON answer is parsed strictly."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        check_strict_json(response)
        return response


# Every app of the suite, however it is built, hands out this client.
Flask.test_client_class = StrictJSONClient


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "all"),
        default="all",
        help="run the app-based tests on this backend only (default: all)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that start servers and browsers first.

    Under pytest-xdist (``make test``) each module goes to one worker in the
    order collected; a long end-to-end module collected last would leave the
    other worker idle while it runs. Their order within a module is kept.
    """
    items.sort(key=lambda item: not item.nodeid.startswith(("tests/e2e/", "tests/deploy/")))


# Tests (by path or node id prefix) whose PostgreSQL variants run in `make test`
# too: storage, the main resources, and the hostile inputs that reach the store
# (PostgreSQL refuses NUL characters that SQLite keeps; a body must be stored whole
# or not at all). Elsewhere the PostgreSQL variant is marked slow (`make test-all`
# runs it), since the code under test does not depend on the store.
POSTGRES_SAMPLE = (
    "tests/deploy/",
    "tests/e2e/",
    # A fit's life on PostgreSQL: queued, fitted, listed, predicted, restarted, deleted.
    "tests/api/test_models_api.py::test_fit_is_queued_with_202_and_location",
    "tests/api/test_models_api.py::test_relu_beats_linear",
    "tests/api/test_models_api.py::test_classifier_keeps_string_labels",
    "tests/api/test_models_api.py::test_predict_validates_shapes",
    "tests/api/test_models_api.py::test_list_filter_and_delete",
    "tests/api/test_models_api.py::test_models_and_datasets_survive_a_restart",
    # What PostgreSQL stores differently (NUL characters, long texts, streamed bodies).
    "tests/api/test_hostile_input.py::test_a_chunked",
    "tests/api/test_hostile_input.py::test_unstorable",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend")
        backends = BACKENDS if chosen == "all" else (chosen,)
        path = Path(str(metafunc.definition.path)).relative_to(REPO).as_posix()
        sampled = f"{path}::{metafunc.definition.name}".startswith(POSTGRES_SAMPLE)
        params = [
            pytest.param(b, marks=pytest.mark.slow) if b == "postgres" and not sampled else b
            for b in backends
        ]
        metafunc.parametrize("backend", params, scope="function")


@cache
def _unreachable() -> str | None:
    """Return why PostgreSQL or Redis cannot be used, or None if both answer."""
    import psycopg
    import redis

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    return None


def require_scale_out_servers() -> None:
    """Skip the calling test without PostgreSQL and Redis; fail instead under CI=true."""
    reason = _unreachable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the scale-out tests must run)")
    pytest.skip(reason)


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a database of its own; yield its SQLAlchemy URL; drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"relumap_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_queue() -> Iterator[dict[str, str]]:
    """Yield queue settings with a queue name of its own; delete its keys afterwards."""
    import redis

    token = uuid.uuid4().hex[:12]
    try:
        yield {"QUEUE_URL": REDIS_URL, "QUEUE_NAME": f"relumap-test-{token}"}
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        # Huey keys its queue, schedule and results by the (cleaned) queue name.
        keys = list(client.scan_iter(match=f"huey.*{token}*"))
        if keys:
            client.delete(*keys)
        client.close()


@contextmanager
def backend_settings(backend: str) -> Iterator[dict[str, Any]]:
    """Yield the settings that put an app on ``backend``, and clean up after it."""
    if backend == "sqlite":
        yield {}
        return
    require_scale_out_servers()
    with postgres_database() as database_url, redis_queue() as queue:
        yield {"DATABASE_URL": database_url, **queue}


@cache
def _migrated_sqlite() -> Path:
    """An SQLite database at the newest migration, made once per test process."""
    from relumap_service.store import Store

    folder = tempfile.mkdtemp(prefix="relumap-schema-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "relumap.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.dispose()
    return path


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app with its own SQLite database and queue under ``tmp_path``.

    A new SQLite database starts as a copy of one migrated once per test
    process (migrating each took 0.1-0.2 s); tests/deploy/test_migrations.py
    migrates from nothing.
    """
    data_dir = tmp_path / "var"
    database = data_dir / "relumap.db"
    if "DATABASE_URL" not in overrides and not database.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite(), database)
    return create_app({"DATA_DIR": str(data_dir), **overrides})


def close_app(app: Flask) -> None:
    services = app.extensions["relumap"]
    services.queue.stop()
    services.store.dispose()


@pytest.fixture(scope="module")
def module_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app (SQLite) for a whole module whose tests read what its fixtures made once."""
    built = make_app(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield built
    close_app(built)


@pytest.fixture
def backend_config(backend: str) -> Iterator[dict[str, Any]]:
    """Settings for the backend this test runs on (empty for the embedded default)."""
    with backend_settings(backend) as settings:
        yield settings


@pytest.fixture
def app_factory(tmp_path: Path, backend_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Build apps on this test's backend with extra settings; all closed afterwards.

    Apps built one after the other share the database and queue, as a restarted
    service would.
    """
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        apps.append(make_app(tmp_path, **{**backend_config, **overrides}))
        return apps[-1]

    yield factory
    for built in apps:
        close_app(built)


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def wait_for_model(client: FlaskClient, model_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a model until its fit has finished."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/models/{model_id}").get_json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
