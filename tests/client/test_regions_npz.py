"""Model.regions() over the .npz media type decodes to what the JSON answer gives."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import pytest
import requests

import relumap
from relumap.regions import NPZ, Regions, _npz_arrays


def he_layers(sizes: tuple[int, ...], seed: int) -> tuple[list[Any], list[Any]]:
    rng = np.random.default_rng(seed)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    coefs = [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)) for a, b in pairs]
    return coefs, [rng.normal(0.0, 0.1, b) for b in sizes[1:]]


# Not sent as .npz: each polygon's area and vertex mean, computed from its vertices.
DERIVED = ("areas", "interior_points")


def assert_same_regions(got: Regions, expected: Regions) -> None:
    for field in dataclasses.fields(Regions):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if field.name in DERIVED:
            # Computed by the reader from the vertices rounded to float64.
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=field.name)
        elif isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.dtype == b.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name)
        elif field.name == "decision_boundary" and b is not None:
            for name in ("segments", "region", "classes"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        elif field.name in ("diagnostics", "slice"):
            assert (a is None) == (b is None), field.name
            if b is not None:
                assert a.to_dict() == b.to_dict(), field.name
        else:
            assert a == b, field.name


@pytest.mark.parametrize(
    ("sizes", "extra"),
    [
        ((2, 12, 12, 1), {}),
        ((2, 8, 8, 3), {"output_activation": "softmax", "classes": ["a", "b", "c"]}),
    ],
)
def test_regions_from_npz_equal_regions_from_json(
    api: relumap.Client, live_url: str, sizes: tuple[int, ...], extra: dict[str, Any]
) -> None:
    coefs, intercepts = he_layers(sizes, seed=3)
    model = api.network(coefs, intercepts, domain=[[-2, -2], [2, 2]], **extra)
    url = f"{live_url}/v1/models/{model.id}/regions"
    as_json = requests.get(url, headers={"Accept": "application/json"}, timeout=60)
    as_npz = requests.get(url, headers={"Accept": NPZ}, timeout=60)
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_npz.headers["Content-Type"] == NPZ
    assert len(as_npz.content) < len(as_json.content) / 3
    expected = Regions.from_dict(as_json.json())
    assert_same_regions(Regions.from_npz(as_npz.content), expected)
    # A service that answers JSON to the client's Accept (an older one) still works.
    assert_same_regions(Regions.from_response(as_json), expected)
    assert_same_regions(Regions.from_response(as_npz), expected)
    # The client asks for .npz by default and gives the same object.
    seen: list[str] = []
    api.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.headers["Content-Type"]))
    got = model.regions()
    assert seen == [NPZ]
    assert_same_regions(got, dataclasses.replace(expected, diagnostics=got.diagnostics))
    # Independent check: each region's affine map is the network at its interior point.
    h = got.interior_points
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        h = np.maximum(h @ W + b, 0.0)
    logits = h @ coefs[-1] + intercepts[-1]
    evaluated = got.evaluate(got.interior_points, np.arange(got.n_regions))
    np.testing.assert_allclose(evaluated, logits, rtol=1e-9, atol=1e-9)


def _npz(save: Any, **arrays: Any) -> bytes:
    stream = io.BytesIO()
    save(stream, **arrays)
    return stream.getvalue()


# Every layout a member can take: 0-d, empty, Fortran order, several dtypes,
# a structured dtype.
MEMBERS = {
    "scalar": np.float64(2.5),
    "empty": np.zeros((0, 3), dtype=np.int32),
    "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "bits": np.packbits(np.eye(9, dtype=bool), axis=1),
    "structured": np.zeros(2, dtype=[(f"field_{i}", "<f8") for i in range(50)]),
    "big_endian": np.arange(5, dtype=">i8"),
}


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_npz_members_read_as_numpy_reads_them(save: Any) -> None:
    data = _npz(save, **MEMBERS)
    with np.load(io.BytesIO(data), allow_pickle=False) as expected:
        got = _npz_arrays(data)
        assert sorted(got) == sorted(expected.files)
        for name in expected.files:
            assert got[name].dtype == expected[name].dtype, name
            assert got[name].shape == expected[name].shape, name
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    if save is np.savez:
        # Views of the body, not copies: read-only.
        assert not got["fortran"].flags.writeable
        assert got["fortran"].flags.f_contiguous


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_npz_members_holding_python_objects_are_refused(save: Any) -> None:
    data = _npz(save, points=np.zeros(2), document=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="(?i)object"):
        _npz_arrays(data)
