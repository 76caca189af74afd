"""Exact slices of a many-input model: which line or plane `/knots` and `/regions` map.

A model of one input has its knots, one of two inputs its regions, as before.
Any model can also be cut:

- `/knots?axis=J&at=REF`: the line through `REF` along feature `J` (an index or a
  name), coordinate = feature `J`'s value; `?start=x1,...,xd&end=...`: the
  segment, coordinate `t` in [0, 1].
- `/regions?axes=I,J&at=REF`: the plane through `REF` spanned by features `I`
  and `J`, in their units; `?origin=...&u=...&v=...`: `origin + s u + t v`.

`REF` is `median` (the default) or `mean` of the training inputs, `row:K` (row
`K` of the data set, from 0) or `d` comma-separated numbers. The network is
restricted to the slice in `core/slices.py` and handed to the same engine; the
document reports the slice and, for every piece or region, the network's affine
map in all `d` inputs (`gradients_full`, `intercepts_full`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_smorest import abort

from relumap_service.api.context import dataset_of
from relumap_service.api.features import feature_names_of
from relumap_service.core.diagnostics import neuron_diagnostics
from relumap_service.core.knots import Knots1D
from relumap_service.core.network import Network
from relumap_service.core.region_map import Regions2D
from relumap_service.core.slices import AffineSlice, affine_of_patterns, axis_slice, restrict
from relumap_service.store import ModelRecord

__all__ = ["SLICE_KEYS", "GeometryView", "any_view", "line_view", "plane_view"]

Domain = tuple[list[float], list[float]]
LINE_KEYS = ("axis", "start", "end")
PLANE_KEYS = ("axes", "origin", "u", "v")
# Every query parameter that asks for a slice.
SLICE_KEYS = ("at", *LINE_KEYS, *PLANE_KEYS)


@dataclass(frozen=True)
class GeometryView:
    """What `/knots` or `/regions` computes on: the network in slice coordinates and more.

    Attributes
    ----------
    network : Network
        What the engine sees: the model's own network, or it restricted to the slice.
    full : Network
        The model's network.
    feature_names : list of str
    axis_names : list of str
        Name of each coordinate of ``network``'s inputs.
    lo, hi : list of float
        The default domain in those coordinates.
    cut : AffineSlice or None
        None when ``network`` is ``full``.
    slice_info : dict or None
        ``kind``, ``reference``, ``at`` and ``axes`` for the document.
    """

    network: Network
    full: Network
    feature_names: list[str]
    axis_names: list[str]
    lo: list[float]
    hi: list[float]
    cut: AffineSlice | None = None
    slice_info: dict[str, Any] | None = None

    def document(self, partition: Knots1D | Regions2D) -> dict[str, Any]:
        """Names, the slice, and each piece's affine map in all inputs (None without a slice)."""
        found: dict[str, Any] = {
            "feature_names": self.feature_names,
            "axis_names": self.axis_names,
            "slice": None,
            "gradients_full": None,
            "intercepts_full": None,
        }
        if self.cut is None:
            return found
        gradients, intercepts = affine_of_patterns(self.full, partition.patterns)
        found["slice"] = {
            **(self.slice_info or {}),
            "origin": self.cut.origin.tolist(),
            "directions": self.cut.directions.tolist(),
        }
        found["gradients_full"] = gradients.tolist()
        found["intercepts_full"] = intercepts.tolist()
        if isinstance(partition, Knots1D):
            found["knots_full"] = self.cut.points(partition.x[:, None]).tolist()
        return found

    def diagnostics(
        self, partition: Knots1D | Regions2D, X_train: np.ndarray | None
    ) -> dict[str, Any]:
        """Neuron diagnostics: on the slice's domain, and on the training data in all inputs."""
        if self.cut is None:
            return neuron_diagnostics(self.network, partition, X_train).to_dict()
        # The data live in all d inputs: their activity comes from the full network,
        # the domain's from the slice's pieces; the affine map is in slice coordinates.
        on_data = neuron_diagnostics(self.full, partition, X_train)
        on_slice = neuron_diagnostics(self.network, partition)
        return dataclasses.replace(on_data, affine_on_domain=on_slice.affine_on_domain).to_dict()


def _fail(field: str, message: str) -> None:
    abort(422, message=message, errors={field: [message]})


def _numbers(text: str, d: int, field: str) -> np.ndarray:
    """`d` finite comma-separated numbers."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != d or not all(math.isfinite(v) for v in values):
        _fail(field, f"{field}={text!r} must be {d} finite numbers separated by commas")
    return np.asarray(values, dtype=np.float64)


def _feature_index(token: str, names: list[str], field: str) -> int:
    """Find a feature by name, else by index from 0."""
    token = token.strip()
    if token in names:
        return names.index(token)
    if token.isascii() and token.isdigit() and int(token) < len(names):
        return int(token)
    _fail(
        field,
        f"{field}={token!r} is not a feature: give an index 0..{len(names) - 1} or a name "
        f"of {names}",
    )
    raise AssertionError  # abort raised


def _reference(
    record: ModelRecord, at: str | None, d: int, domain: Domain, X_train: np.ndarray | None
) -> np.ndarray:
    """Return the point `?at=` names: median, mean, row:K or d numbers."""
    choice = (at or "median").strip()
    if choice in ("median", "mean"):
        if X_train is None or X_train.shape[0] == 0:
            # No training data: the middle of the default domain.
            return (np.asarray(domain[0]) + np.asarray(domain[1])) / 2.0
        return np.asarray(
            np.median(X_train, axis=0) if choice == "median" else X_train.mean(axis=0)
        )
    if choice.startswith("row:"):
        dataset = dataset_of(record)
        if dataset is None:
            _fail("at", f"model {record.id} has no data set; give at= as {d} numbers")
        assert dataset is not None
        index = choice.removeprefix("row:").strip()
        if not (index.isascii() and index.isdigit()) or int(index) >= dataset.n_samples:
            _fail(
                "at",
                f"at={choice!r}: the data set has rows 0..{dataset.n_samples - 1}; "
                "give row:K with K in that range",
            )
        return np.asarray(dataset.X[int(index)], dtype=np.float64)
    if "," not in choice and d > 1:
        _fail("at", f"at={choice!r} must be median, mean, row:K or {d} numbers")
    return _numbers(choice, d, "at")


def _own(
    full: Network, names: list[str], domain: Domain, n_inputs: int, view: str, hint: str
) -> GeometryView:
    """View the model's own inputs when it has exactly `n_inputs` of them, else 409."""
    if full.n_inputs != n_inputs:
        other = {1: " or use /knots", 2: " or use /regions"}.get(full.n_inputs, "")
        abort(
            409,
            message=f"the model has {full.n_inputs} input(s) {names}; {view} maps {n_inputs}: "
            f"pass {hint}{other}",
        )
    return GeometryView(full, full, names, names, domain[0], domain[1])


def _given(args: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if args.get(key) is not None]


def _along_features(
    record: ModelRecord,
    full: Network,
    names: list[str],
    axes: list[int],
    kind: str,
    args: dict[str, Any],
    domain: Domain,
    X_train: np.ndarray | None,
) -> GeometryView:
    """Build the line or plane through the reference point ``at`` along ``axes``."""
    reference = _reference(record, args.get("at"), full.n_inputs, domain, X_train)
    cut = axis_slice(reference, axes)
    info = {
        "kind": kind,
        "reference": reference.tolist(),
        "at": args.get("at") or "median",
        "axes": axes,
    }
    return GeometryView(
        restrict(full, cut.origin, cut.directions),
        full,
        names,
        [names[a] for a in axes],
        [domain[0][a] for a in axes],
        [domain[1][a] for a in axes],
        cut,
        info,
    )


def line_view(
    record: ModelRecord,
    full: Network,
    args: dict[str, Any],
    domain: Domain,
    X_train: np.ndarray | None,
) -> GeometryView:
    """Choose the line `/knots` maps: the input, `?axis=J&at=REF` or `?start=&end=`."""
    d = full.n_inputs
    names = feature_names_of(record.feature_names, d)
    by_axis, by_segment = _given(args, ("axis", "at")), _given(args, ("start", "end"))
    if by_axis and by_segment:
        _fail("axis", "give either axis (and at) or start and end, not both")
    if not by_axis and not by_segment:
        hint = "?axis=J (a feature index or name) and ?at=median|mean|row:K|x1,...,xd"
        return _own(full, names, domain, 1, "/knots", hint)
    if by_segment:
        if len(by_segment) != 2:
            _fail("end" if "start" in by_segment else "start", "give both start and end")
        start = _numbers(args["start"], d, "start")
        end = _numbers(args["end"], d, "end")
        if np.array_equal(start, end):
            _fail("end", "start and end are the same point; a segment needs two")
        cut = AffineSlice(start, (end - start)[None, :])
        info = {"kind": "segment", "reference": None, "at": None, "axes": None}
        return GeometryView(
            restrict(full, cut.origin, cut.directions), full, names, ["t"], [0.0], [1.0], cut, info
        )
    if args.get("axis") is None:
        _fail("axis", "at= needs axis=J: the feature the line runs along")
    axis = _feature_index(args["axis"], names, "axis")
    return _along_features(record, full, names, [axis], "axis", args, domain, X_train)


def plane_view(
    record: ModelRecord,
    full: Network,
    args: dict[str, Any],
    domain: Domain,
    X_train: np.ndarray | None,
) -> GeometryView:
    """Choose the plane `/regions` maps: the inputs, `?axes=I,J&at=REF` or `?origin=&u=&v=`."""
    d = full.n_inputs
    names = feature_names_of(record.feature_names, d)
    by_axes, by_plane = _given(args, ("axes", "at")), _given(args, ("origin", "u", "v"))
    if by_axes and by_plane:
        _fail("axes", "give either axes (and at) or origin, u and v, not both")
    if not by_axes and not by_plane:
        hint = "?axes=I,J (feature indices or names) and ?at=median|mean|row:K|x1,...,xd"
        return _own(full, names, domain, 2, "/regions", hint)
    if by_plane:
        missing = [key for key in ("origin", "u", "v") if key not in by_plane]
        if missing:
            _fail(missing[0], f"give origin, u and v together; missing {missing}")
        origin, u, v = (_numbers(args[key], d, key) for key in ("origin", "u", "v"))
        if np.linalg.matrix_rank(np.stack([u, v])) < 2:
            _fail("v", "u and v are parallel (or zero); a plane needs two independent directions")
        cut = AffineSlice(origin, np.stack([u, v]))
        info = {"kind": "plane", "reference": None, "at": None, "axes": None}
        return GeometryView(
            restrict(full, cut.origin, cut.directions),
            full,
            names,
            ["s", "t"],
            [0.0, 0.0],
            [1.0, 1.0],
            cut,
            info,
        )
    if args.get("axes") is None:
        _fail("axes", "at= needs axes=I,J: the two features the plane spans")
    tokens = args["axes"].split(",")
    if len(tokens) != 2:
        _fail("axes", f"axes={args['axes']!r} must name two features, e.g. axes=0,3")
    axes = [_feature_index(token, names, "axes") for token in tokens]
    if axes[0] == axes[1]:
        _fail("axes", f"axes={args['axes']!r} names feature {names[axes[0]]!r} twice")
    return _along_features(record, full, names, axes, "axes", args, domain, X_train)


def any_view(
    record: ModelRecord,
    full: Network,
    args: dict[str, Any],
    domain: Domain,
    X_train: np.ndarray | None,
) -> GeometryView:
    """Choose what a picture draws: the model's own 1 or 2 inputs, or the line or plane asked."""
    if _given(args, LINE_KEYS) and _given(args, PLANE_KEYS):
        _fail("axis", "give a line (axis, or start and end) or a plane (axes, or origin, u, v)")
    if _given(args, LINE_KEYS):
        return line_view(record, full, args, domain, X_train)
    if _given(args, PLANE_KEYS):
        return plane_view(record, full, args, domain, X_train)
    if args.get("at") is not None:
        _fail("at", "at= needs axis=J (a line) or axes=I,J (a plane)")
    names = feature_names_of(record.feature_names, full.n_inputs)
    if full.n_inputs > 2:
        abort(
            409,
            message=f"the model has {full.n_inputs} inputs {names}; a picture shows 1 or 2: "
            "pass ?axis=J or ?axes=I,J (feature indices or names) and ?at=median|mean|row:K",
        )
    return GeometryView(full, full, names, names, domain[0], domain[1])
