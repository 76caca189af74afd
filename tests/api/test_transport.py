"""Compression, strong ETags, the cache of geometry answers and the .npz region map."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable
from typing import Any

import brotli
import numpy as np
import pytest
from backports import zstd
from flask import Flask
from flask.testing import FlaskClient

from relumap_service.api.transport import NPZ, AnswerCache, answer_cache

DECODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstd.decompress,
}


def he_network(sizes: tuple[int, ...], seed: int = 0, **extra: Any) -> dict[str, Any]:
    """A seeded He-initialised network document for POST /v1/networks."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    return {
        "coefs": [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)).tolist() for a, b in pairs],
        "intercepts": [rng.normal(0.0, 0.1, b).tolist() for b in sizes[1:]],
        "domain": [[-2.0, -2.0], [2.0, 2.0]] if sizes[0] == 2 else [-2.0, 2.0],
        **extra,
    }


def stored(client: FlaskClient, document: dict[str, Any]) -> str:
    response = client.post("/v1/networks", json=document)
    assert response.status_code == 201, response.get_json()
    model_id: str = response.get_json()["id"]
    return model_id


def classifier(client: FlaskClient, seed: int = 0) -> str:
    document = he_network((2, 8, 8, 3), seed, output_activation="softmax", classes=["a", "b", "c"])
    return stored(client, document)


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_region_map_is_compressed_as_the_client_allows(
    client: FlaskClient, encoding: str
) -> None:
    model_id = classifier(client)
    plain = client.get(f"/v1/models/{model_id}/regions")
    assert "Content-Encoding" not in plain.headers
    packed = client.get(
        f"/v1/models/{model_id}/regions", headers={"Accept-Encoding": f"{encoding}, identity;q=0.1"}
    )
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2
    assert DECODE[encoding](packed.data) == plain.data


def test_small_answers_and_pictures_are_sent_as_they_are(client: FlaskClient) -> None:
    gz = {"Accept-Encoding": "gzip"}
    assert "Content-Encoding" not in client.get("/livez", headers=gz).headers  # under 500 bytes
    model_id = classifier(client)
    png = client.get(f"/v1/models/{model_id}/plot.png?width=200&height=150", headers=gz)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert "Content-Encoding" not in png.headers
    svg = client.get(f"/v1/models/{model_id}/plot.svg?width=200&height=150", headers=gz)
    assert svg.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(svg.data).startswith(b"<?xml")


def test_a_large_problem_document_is_compressed(client: FlaskClient) -> None:
    # 200 rows that are not numbers: the 422 names each one.
    rows = [["x", "y"]] * 200
    model_id = classifier(client)
    response = client.post(
        f"/v1/models/{model_id}/predict", json={"X": rows}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.headers["Content-Encoding"] == "gzip"
    problem = json.loads(gzip.decompress(response.data))
    assert problem["status"] == 422 and len(problem["errors"]["X"]) == 200
    small = client.get("/v1/models/" + "0" * 32, headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 404 and "Content-Encoding" not in small.headers


def test_the_docs_page_policy_hashes_the_uncompressed_script(client: FlaskClient) -> None:
    response = client.get("/docs", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(response.data)
    scripts = re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.DOTALL | re.I)
    assert scripts
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("view", ["regions", "knots"])
def test_a_repeated_request_with_the_etag_gets_304(client: FlaskClient, view: str) -> None:
    if view == "regions":
        url = f"/v1/models/{classifier(client)}/regions"
    else:
        url = f"/v1/models/{stored(client, he_network((1, 16, 16, 1)))}/knots"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)  # strong
    # Revalidated each time: a 304 is cheap, and a deleted model's answer is not reused.
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    # The ETag of the gzip answer (flask-compress appends the encoding) validates too.
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["ETag"] == etag[:-1] + ':gzip"'
    revalidated = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert revalidated.status_code == 304
    assert client.get(url, headers={"If-None-Match": '"0123"'}).status_code == 200


def test_the_etag_names_model_query_and_media_type(client: FlaskClient) -> None:
    model_id = classifier(client)
    twin = classifier(client)  # the same weights, another model
    other = classifier(client, seed=1)

    def etag(model: str, query: str = "", accept: str = "application/json") -> str:
        response = client.get(f"/v1/models/{model}/regions{query}", headers={"Accept": accept})
        assert response.status_code == 200
        return str(response.headers["ETag"])

    base = etag(model_id)
    assert etag(model_id) == base
    variants = {
        etag(twin),
        etag(other),
        etag(model_id, "?x_max=1.5"),
        etag(model_id, "?max_regions=5000"),
        etag(model_id, "?verify=true"),
        etag(model_id, "?format=geojson"),
        etag(model_id, accept=NPZ),
    }
    assert base not in variants and len(variants) == 7


def test_a_cached_answer_needs_no_turn_at_heavy_work(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(GEOMETRY_WAIT_SECONDS=0.0)
    client = app.test_client()
    model_id = classifier(client)
    url = f"/v1/models/{model_id}/regions"
    first = client.get(url)
    turns = app.extensions["relumap_heavy_work"]._turns
    assert turns.acquire(timeout=5)  # every turn is taken: a computation would get 503
    try:
        cached = client.get(url)
        uncached = client.get(url + "?x_max=1.5")
    finally:
        turns.release()
    assert cached.status_code == 200 and cached.data == first.data
    assert uncached.status_code == 503 and uncached.headers["Retry-After"]


def test_a_deleted_model_is_not_served_from_the_cache(app: Flask, client: FlaskClient) -> None:
    model_id = classifier(client)
    url = f"/v1/models/{model_id}/regions"
    etag = client.get(url).headers["ETag"]
    with app.app_context():
        assert answer_cache().get(etag.strip('"')) is not None
    assert client.delete(f"/v1/models/{model_id}").status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_the_cache_is_bounded_in_bytes_and_reported(app_factory: Callable[..., Flask]) -> None:
    bound = 60_000
    app = app_factory(GEOMETRY_CACHE_BYTES=bound)
    client = app.test_client()
    assert client.get("/v1").get_json()["limits"]["geometry_cache_bytes"] == bound
    model_id = classifier(client)
    sizes = []
    for x_max in (1.0, 1.25, 1.5, 1.75, 2.0):
        response = client.get(
            f"/v1/models/{model_id}/regions?x_max={x_max}", headers={"Accept-Encoding": "gzip"}
        )
        sizes.append(len(gzip.decompress(response.data)) + len(response.data))
        with app.app_context():
            cache = answer_cache()
            assert cache.bytes <= bound
    assert sum(sizes) > bound  # the bound was reached, so entries were dropped
    with app.app_context():
        assert 0 < len(answer_cache()) < 2 * len(sizes)


def test_the_answer_cache_drops_the_least_recently_used() -> None:
    cache = AnswerCache(max_bytes=10)
    cache.set("a", b"1234")
    cache.set("b", b"1234")
    assert cache.get("a") == b"1234"  # now "b" is the least recently used
    cache.set("c", b"1234")
    assert cache.get("b") is None and cache.get("a") == cache.get("c") == b"1234"
    assert cache.bytes == 8
    cache.set("big", b"x" * 11)  # larger than the bound: not kept, nothing dropped
    assert cache.get("big") is None and len(cache) == 2
    cache.set("gzip;", b"1")  # an answer that is not cached
    assert cache.get("gzip;") is None


def test_a_cached_answer_is_the_same_as_a_fresh_one(app_factory: Callable[..., Flask]) -> None:
    cached_app = app_factory()
    fresh_app = app_factory(GEOMETRY_CACHE_BYTES=0, GEOMETRY_SHARED_CACHE_BYTES=0)
    model_id = classifier(cached_app.test_client())
    url = f"/v1/models/{model_id}/regions?verify=true"
    cached = cached_app.test_client()
    first, second = cached.get(url), cached.get(url)
    fresh = fresh_app.test_client().get(url)
    assert first.data == second.data == fresh.data
    assert first.headers["ETag"] == fresh.headers["ETag"]


def npz_arrays(body: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(body), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.mark.parametrize("accept", [NPZ, f"{NPZ}, application/json;q=0.5"])
def test_the_npz_region_map_holds_the_json_maps_arrays(client: FlaskClient, accept: str) -> None:
    model_id = classifier(client)
    document = client.get(f"/v1/models/{model_id}/regions").get_json()
    response = client.get(
        f"/v1/models/{model_id}/regions", headers={"Accept": accept, "Accept-Encoding": "zstd"}
    )
    assert response.status_code == 200 and response.mimetype == NPZ
    # The members are stored; the HTTP coding compresses the file.
    assert response.headers["Content-Encoding"] == "zstd"
    arrays = npz_arrays(zstd.decompress(response.data))
    meta = json.loads(arrays.pop("document").tobytes())
    points, ids, offsets = arrays["points"], arrays["vertex_ids"], arrays["offsets"]
    assert points.shape == (document["n_points"], 2)
    np.testing.assert_array_equal(points[ids], np.asarray(document["vertices"]))
    np.testing.assert_array_equal(ids, document["vertex_ids"])
    np.testing.assert_array_equal(offsets, document["offsets"])
    bits = np.unpackbits(arrays["patterns"], axis=1, count=meta["n_hidden"])
    strings = ["".join(map(str, row)) for row in bits]
    assert strings == document["patterns"] and meta["n_hidden"] == 16
    for name in ("gradients", "intercepts", "linear_region"):
        np.testing.assert_array_equal(arrays[name], np.asarray(document[name]), err_msg=name)
    for name in ("box", "n_regions", "certificate", "decision_boundary", "diagnostics", "classes"):
        assert meta[name] == document[name], name
    # Areas and interior points are the reader's to derive from the polygons, not sent.
    assert not {"areas", "interior_points"} & (set(arrays) | set(meta))
    # The polygons tile the box: an independent check of what the arrays say.
    x, y = points[ids].T
    area = 0.0
    for lo, hi in zip(offsets[:-1], offsets[1:], strict=True):
        px, py = x[lo:hi], y[lo:hi]
        area += 0.5 * float(np.dot(px, np.roll(py, -1)) - np.dot(np.roll(px, -1), py))
    np.testing.assert_allclose(area, 16.0, rtol=1e-12)


def test_json_is_the_default_and_a_browser_gets_json(client: FlaskClient) -> None:
    model_id = classifier(client)
    for accept in (None, "*/*", "text/html,application/xhtml+xml,*/*;q=0.8"):
        headers = {} if accept is None else {"Accept": accept}
        response = client.get(f"/v1/models/{model_id}/regions", headers=headers)
        assert response.mimetype == "application/json", accept


def test_the_openapi_document_offers_the_npz_media_type(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    answers = spec["paths"]["/v1/models/{model_id}/regions"]["get"]["responses"]
    assert NPZ in answers["200"]["content"]
    assert "304" in answers


def test_a_compressed_picture_revalidates_with_its_encoded_etag(client: FlaskClient) -> None:
    url = f"/v1/models/{classifier(client)}/plot.svg?width=200&height=150"
    first = client.get(url, headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    assert first.headers["Content-Encoding"] == "br" and etag.endswith(':br"')
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert client.get(url, headers={"If-None-Match": etag.replace(":br", "")}).status_code == 304


def test_a_model_still_fitting_gets_409_whatever_the_validators(client: FlaskClient) -> None:
    data = client.post("/v1/datasets/generate", json={"kind": "xor", "n_samples": 2000}).get_json()
    params = {"dataset_id": data["id"], "hidden_layer_sizes": [64, 64], "max_iter": 5000}
    model = client.post("/v1/models?wait=0", json=params).get_json()
    try:
        for tag in ("*", '"0123"'):
            response = client.get(
                f"/v1/models/{model['id']}/regions", headers={"If-None-Match": tag}
            )
            status = client.get(f"/v1/models/{model['id']}").get_json()["status"]
            if status == "succeeded":
                pytest.skip("the fit ended before the request")
            assert response.status_code == 409, tag
    finally:
        client.delete(f"/v1/models/{model['id']}")


def test_a_negative_cache_size_is_refused_by_name() -> None:
    from relumap_service.config import load_config

    with pytest.raises(ValueError, match="RELUMAP_GEOMETRY_CACHE_BYTES=-1 must be 0"):
        load_config(environ={"RELUMAP_GEOMETRY_CACHE_BYTES": "-1"})
    assert load_config(environ={"RELUMAP_GEOMETRY_CACHE_BYTES": "0"})["GEOMETRY_CACHE_BYTES"] == 0
