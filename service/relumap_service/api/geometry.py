"""Exact geometry of a model over HTTP: `/knots` (1D) and `/regions` (2D).

Region maps can hold hundreds of thousands of polygons, so these views encode
their (array-shaped) documents with orjson directly rather than through a
marshmallow schema (the schemas still document them): for a 16,900-region map
the standard encoder took 0.19-0.28 s, more than computing the map, orjson 7 ms.
Their answers carry strong ETags and are cached per process
(:mod:`relumap_service.api.transport`); `/regions` also speaks .npz.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_service.api.context import dataset_of, get_model_or_404, services
from relumap_service.api.heavy_work import heavy_view, work_budget, work_limit
from relumap_service.api.models import check_units_cells, network_at, succeeded_network
from relumap_service.api.schemas import (
    KnotsQuerySchema,
    KnotsSchema,
    RegionsQuerySchema,
    RegionsSchema,
)
from relumap_service.api.slices import line_view, plane_view
from relumap_service.api.transport import (
    NPZ,
    cached_answer,
    regions_npz,
    remember_answer,
    representation_key,
)
from relumap_service.core.boundary import decision_boundary
from relumap_service.core.knots import knots_1d
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.parallel_regions import regions_2d_parallel
from relumap_service.core.regions import Regions2D, regions_2d
from relumap_service.core.unit_maps import units_document
from relumap_service.core.verify import verify_knots, verify_regions
from relumap_service.fit_process import start_fit_server
from relumap_service.store import ModelRecord

blp = Blueprint(
    "geometry", __name__, url_prefix="/v1/models", description="Exact knots and linear regions"
)

# Each side of the training data's bounding box is pushed out by this fraction.
DOMAIN_MARGIN = 0.1
# A manual network with no stored domain is drawn on [-1, 1] or [-1, 1]².
UNIT_DOMAIN = ((-1.0, -1.0), (1.0, 1.0))
# Networks with this many hidden units or more are mapped on RELUMAP_GEOMETRY_PROCESSES
# worker processes: smaller maps take well under a second in one process.
PARALLEL_HIDDEN_UNITS = 256


def default_domain(record: ModelRecord, n_inputs: int) -> tuple[list[float], list[float]]:
    """Return the stored domain, else the training data's box widened by 10% per side."""
    result = record.result or {}
    if result.get("domain") is not None:
        lo, hi = result["domain"]
        return [float(v) for v in np.atleast_1d(lo)], [float(v) for v in np.atleast_1d(hi)]
    dataset = dataset_of(record)
    if dataset is None:
        return [UNIT_DOMAIN[0][0]] * n_inputs, [UNIT_DOMAIN[1][0]] * n_inputs
    lo, hi = np.asarray(dataset.bounds["min"]), np.asarray(dataset.bounds["max"])
    margin = np.where(hi > lo, (hi - lo) * DOMAIN_MARGIN, 1.0)
    return (lo - margin).tolist(), (hi + margin).tolist()


def training_inputs(record: ModelRecord) -> np.ndarray | None:
    """Return the inputs the model was trained on (held-out rows removed), if any."""
    dataset = dataset_of(record)
    if dataset is None or not record.result:
        return None
    X = np.asarray(dataset.X, dtype=np.float64)
    keep = np.ones(X.shape[0], dtype=bool)
    keep[record.result.get("test_indices") or []] = False
    return X[keep]


def _network_for(record: ModelRecord, n_inputs: int, view: str) -> Network:
    network = succeeded_network(record)
    if network.n_inputs != n_inputs:
        other = "/regions" if network.n_inputs == 2 else "/knots"
        abort(
            409,
            message=f"model {record.id} has {network.n_inputs} input(s); {view} "
            f"needs {n_inputs}: use {other}",
        )
    return network


def _check_width(width: float, field: str) -> None:
    """Refuse a domain whose width is not a float64 (it may lie anywhere in float64)."""
    if not np.isfinite(width):
        abort(
            422,
            message=f"the domain is wider than the float64 range (width {width}); "
            "use a smaller domain",
            errors={field: ["domain wider than the float64 range"]},
        )


def _verify(args: dict[str, Any], count: int, check: Any, *inputs: Any) -> dict[str, Any] | None:
    """Run ``?verify=true``'s exact re-derivation within RELUMAP_MAX_VERIFY_REGIONS."""
    if not args["verify"]:
        return None
    limit = int(services().config["MAX_VERIFY_REGIONS"])
    if count > limit:
        raise WorkLimitExceeded(
            "max_verify_regions",
            count,
            limit,
            "verify a smaller domain or network, or raise RELUMAP_MAX_VERIFY_REGIONS",
        )
    result: dict[str, Any] = check(*inputs).to_dict()
    return result


def _labels(record: ModelRecord, indices: list[int] | None) -> list[Any] | None:
    classes = (record.result or {}).get("classes")
    if classes is None or indices is None:
        return None
    return [classes[i] for i in indices]


def _regions_media_type(args: dict[str, Any]) -> str:
    """Return the media type of a regions answer: GeoJSON if asked, else as ``Accept`` prefers."""
    if args["format"] == "geojson":
        return "application/geo+json"
    best = request.accept_mimetypes.best_match(["application/json", NPZ], "application/json")
    return best or "application/json"


def _summary(regions: Regions2D) -> dict[str, Any]:
    """Return the scalars of a region map's document (its arrays go in the .npz)."""
    return {
        "box": [list(regions.box[0]), list(regions.box[1])],
        "n_regions": regions.n_regions,
        "n_linear_regions": regions.n_linear_regions,
        "bound": regions.bound,
        "n_points": int(regions.points.shape[0]),
        "certificate": regions.certificate.to_dict(),
    }


def _region_map(network: Network, box: Any, max_regions: int, budget: WorkBudget) -> Regions2D:
    """Map a box in this process, or in strips on worker processes for a big network."""
    processes = int(services().config["GEOMETRY_PROCESSES"])
    if processes > 1 and sum(network.hidden_layer_sizes) >= PARALLEL_HIDDEN_UNITS:
        # Workers fork from the server that also starts fits, with the engine imported.
        start_fit_server()
        return regions_2d_parallel(network, box, max_regions, budget=budget, processes=processes)
    return regions_2d(network, box, max_regions=max_regions, budget=budget)


@blp.route("/<id:model_id>/knots")
class Knots(MethodView):
    """Knots and pieces of a one-input model."""

    @blp.arguments(KnotsQuerySchema(), location="query")
    @blp.response(200, KnotsSchema)
    @heavy_view
    def get(self, args: dict[str, Any], model_id: str) -> Response:
        """Exact knots, breakpoints, affine pieces and neuron diagnostics on `[lo, hi]`.

        The default domain is the training data's interval widened by 10% on each side.
        """
        record = get_model_or_404(model_id)
        # Only a succeeded model's answers are cached, so a hit needs no other check.
        etag = representation_key(record, "knots", "application/json", args)
        cached = cached_answer(etag, "application/json")
        if cached is not None:
            return cached
        full, X_train = network_at(record, args.get("snapshot")), training_inputs(record)
        view = line_view(record, full, args, default_domain(record, full.n_inputs), X_train)
        network, (lo,), (hi,) = view.network, view.lo, view.hi
        lo, hi = args.get("lo", lo), args.get("hi", hi)
        if not hi > lo:
            abort(
                422,
                message=f"the domain [{lo}, {hi}] is empty: hi must exceed lo",
                errors={"hi": ["must be greater than lo"]},
            )
        _check_width(hi - lo, "hi")
        knots = knots_1d(
            network, lo, hi, max_pieces=work_limit(args, "max_pieces"), budget=work_budget()
        )
        document = knots.to_dict()
        document["verification"] = _verify(args, knots.n_pieces, verify_knots, network, knots)
        # The predicted class on each interval between class changes, as labels.
        document["interval_labels"] = _labels(record, document["classes"])
        document["model_id"] = record.id
        document["diagnostics"] = view.diagnostics(knots, X_train)
        document.update(view.document(knots))
        if args.get("include") == "units":
            check_units_cells(network, knots.n_pieces)
            document.update(
                units_document(network, knots.patterns, activation=True, with_contributions=True)
            )
        return remember_answer(etag, orjson.dumps(document), "application/json")


@blp.route("/<id:model_id>/regions")
class Regions(MethodView):
    """Linear regions of a two-input model."""

    @blp.arguments(RegionsQuerySchema(), location="query")
    @blp.response(200, RegionsSchema)
    @blp.alt_response(
        200,
        schema={"type": "object", "description": "a GeoJSON FeatureCollection"},
        description="GeoJSON FeatureCollection with ?format=geojson",
        content_type="application/geo+json",
        success=True,
    )
    @blp.alt_response(
        200,
        schema={"type": "string", "format": "binary"},
        description="The region map: JSON by default; a GeoJSON FeatureCollection with "
        "`?format=geojson`; with `Accept: application/x-npz` its arrays as a numpy .npz "
        "file (no pickles; see README, Transport and caching). ETag and Cache-Control "
        "let clients revalidate it.",
        content_type=NPZ,
        success=True,
    )
    @blp.alt_response(304, description="Not modified: the If-None-Match ETag is current")
    @heavy_view
    def get(self, args: dict[str, Any], model_id: str) -> Response:
        """Exact activation regions, their affine maps, linear regions and decision boundary.

        The default box is the training data's bounding box widened by 10% on each side.
        `?format=geojson` gives a FeatureCollection of the region polygons (and the
        decision boundary's segments) for GIS and plotting tools.
        """
        record = get_model_or_404(model_id)
        # Only a succeeded model's answers are cached, so a hit needs no other check.
        media_type = _regions_media_type(args)
        etag = representation_key(record, "regions", media_type, args)
        cached = cached_answer(etag, media_type, vary="Accept")
        if cached is not None:
            return cached
        full, X_train = network_at(record, args.get("snapshot")), training_inputs(record)
        view = plane_view(record, full, args, default_domain(record, full.n_inputs), X_train)
        network, lo, hi = view.network, view.lo, view.hi
        box = (
            (args.get("x_min", lo[0]), args.get("y_min", lo[1])),
            (args.get("x_max", hi[0]), args.get("y_max", hi[1])),
        )
        if not (box[1][0] > box[0][0] and box[1][1] > box[0][1]):
            abort(
                422,
                message=f"the box {box} is empty: x_max must exceed x_min and y_max exceed y_min",
                errors={"x_max": ["empty box"]},
            )
        _check_width(box[1][0] - box[0][0], "x_max")
        _check_width(box[1][1] - box[0][1], "y_max")
        budget = work_budget()
        regions = _region_map(network, box, work_limit(args, "max_regions"), budget)
        budget.check()
        boundary = None
        if network.output_activation != "identity":
            boundary = decision_boundary(regions, network)
        if args["format"] == "geojson":
            collection = regions.to_geojson()
            if boundary is not None:
                for feature in boundary.to_geojson()["features"]:
                    feature["properties"]["kind"] = "decision_boundary"
                    collection["features"].append(feature)
            return remember_answer(etag, orjson.dumps(collection), media_type, vary="Accept")
        document = regions.to_dict() if media_type == "application/json" else _summary(regions)
        document["verification"] = _verify(
            args, regions.n_regions, verify_regions, network, regions
        )
        document["model_id"] = record.id
        document["classes"] = (record.result or {}).get("classes")
        document["decision_boundary"] = None if boundary is None else boundary.to_dict()
        document["diagnostics"] = view.diagnostics(regions, X_train)
        document.update(view.document(regions))
        if args.get("include") == "units":
            check_units_cells(network, regions.n_regions)
            units = units_document(
                network, regions.patterns, activation=False, with_contributions=False
            )
            # Not among the .npz arrays: it goes in the .npz's JSON member "document".
            document["units"] = units["units"]
        if media_type == NPZ:
            return remember_answer(etag, regions_npz(regions, document), NPZ, vary="Accept")
        return remember_answer(etag, orjson.dumps(document), media_type, vary="Accept")
