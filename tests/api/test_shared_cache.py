"""The answer cache shared by web processes: a repeat in another process is not computed again."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from prometheus_client import REGISTRY

from relumap_service.api.transport import SharedAnswerCache
from tests.api.test_transport import classifier

ETAG = "0123456789abcdef0123456789abcdef01234567"


def served(source: str) -> float:
    """Answers counted so far with this source (this process's counter)."""
    value = REGISTRY.get_sample_value("relumap_geometry_answers_total", {"source": source})
    return value or 0.0


def test_a_repeat_reaching_another_process_is_served_from_the_shared_cache(
    app_factory: Callable[..., Flask],
) -> None:
    # Two apps on one data directory stand for two gunicorn workers: their
    # in-memory caches are separate, the files under DATA_DIR/answers are not.
    first, second = app_factory(), app_factory()
    model_id = classifier(first.test_client())
    url = f"/v1/models/{model_id}/regions"
    before = {source: served(source) for source in ("missed", "shared", "memory")}
    computed = first.test_client().get(url, headers={"Accept-Encoding": "gzip"})
    repeated = second.test_client().get(url, headers={"Accept-Encoding": "gzip"})
    assert computed.status_code == repeated.status_code == 200
    assert computed.headers["ETag"] == repeated.headers["ETag"]
    assert gzip.decompress(computed.data) == gzip.decompress(repeated.data)
    assert served("missed") - before["missed"] == 1  # only the first was computed
    assert served("shared") - before["shared"] >= 1
    # The second process now holds it in memory too.
    second.test_client().get(url)
    assert served("memory") - before["memory"] >= 1
    # A deleted model is never served, from either cache.
    assert second.test_client().delete(f"/v1/models/{model_id}").status_code == 204
    for app in (first, second, app_factory()):
        assert app.test_client().get(url).status_code == 404


def test_the_shared_cache_is_off_at_zero_bytes(app_factory: Callable[..., Flask]) -> None:
    first, second = app_factory(GEOMETRY_SHARED_CACHE_BYTES=0), app_factory()
    model_id = classifier(first.test_client())
    first.test_client().get(f"/v1/models/{model_id}/regions")
    answers = Path(first.config["RELUMAP"]["DATA_DIR"]) / "answers"
    assert not answers.exists() or not any(answers.iterdir())
    assert (
        second.test_client().get("/v1").get_json()["limits"]["geometry_shared_cache_bytes"]
        == 512 * 1024 * 1024
    )


def test_the_shared_cache_keeps_at_most_its_bound_dropping_the_least_recently_used(
    tmp_path: Path,
) -> None:
    cache = SharedAnswerCache(tmp_path, max_bytes=10)
    cache.set(ETAG, b"1234")
    cache.set(f"gzip;{ETAG}", b"5678")
    os.utime(tmp_path / f"{ETAG}.body", (1000, 1000))
    os.utime(tmp_path / f"{ETAG}.gzip", (2000, 2000))
    assert cache.get(ETAG) == b"1234"  # used now: the gzip form is now the oldest
    other = ETAG[::-1]
    cache.set(other, b"abcd")
    assert cache.get(f"gzip;{ETAG}") is None
    assert cache.get(ETAG) == b"1234" and cache.get(other) == b"abcd"
    files = [path for path in tmp_path.iterdir() if not path.name.startswith(".")]
    assert sum(path.stat().st_size for path in files) <= 10
    cache.set(ETAG[:20] + "f" * 20, b"x" * 11)  # larger than the bound: not kept
    assert cache.get(ETAG[:20] + "f" * 20) is None
    # Keys that are not an ETag (or an encoding and an ETag) name no file.
    for key in ("gzip;", "../etc/passwd", f"gzip;{ETAG}/.."):
        cache.set(key, b"1")
        assert cache.get(key) is None
    assert {path.name for path in tmp_path.iterdir()} == {f"{ETAG}.body", f"{other}.body"}
