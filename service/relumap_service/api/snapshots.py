"""`/v1/models/{id}/snapshots`: the network at chosen iterations of its fit.

A fit with ``snapshots=N`` stores the weights at N iterations of the same
training run (``core/snapshots.py``); the last is the stored model. Every
geometry and picture view takes ``snapshot=INDEX`` and then works on that
snapshot's network (``api.models.network_at``).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from relumap_service.api.context import get_model_or_404, services
from relumap_service.api.errors import problem_doc
from relumap_service.api.geometry import default_domain
from relumap_service.api.heavy_work import heavy_view, work_budget, work_limit
from relumap_service.api.models import succeeded_network
from relumap_service.api.schemas import SnapshotsSchema
from relumap_service.api.transport import cached_answer, remember_answer, representation_key
from relumap_service.core.knots import knots_1d
from relumap_service.core.limits import WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d
from relumap_service.core.snapshots import unpack_weights

__all__ = ["blp"]

blp = Blueprint(
    "snapshots", __name__, url_prefix="/v1/models", description="Training snapshots of a fit"
)


def _count(
    network: Network, domain: tuple[list[float], list[float]], budget: Any
) -> dict[str, Any]:
    """Pieces (1 input) or regions (2 inputs) of a snapshot on the model's default domain."""
    (lo, hi) = domain
    try:
        if network.n_inputs == 1:
            limit = work_limit({}, "max_pieces")
            knots = knots_1d(network, lo[0], hi[0], max_pieces=limit, budget=budget)
            return {"n_pieces": knots.n_pieces}
        if network.n_inputs == 2:
            box = ((lo[0], lo[1]), (hi[0], hi[1]))
            limit = work_limit({}, "max_regions")
            return {
                "n_regions": regions_2d(network, box, max_regions=limit, budget=budget).n_regions
            }
    except WorkLimitExceeded as exc:
        if exc.name not in ("max_pieces", "max_regions"):
            raise
        key = "n_pieces" if network.n_inputs == 1 else "n_regions"
        return {key: None}
    return {}


@blp.route("/<id:model_id>/snapshots")
class Snapshots(MethodView):
    """The training snapshots of a model."""

    @blp.response(200, SnapshotsSchema)
    @blp.alt_response(404, **problem_doc("No model with this id"))
    @blp.alt_response(409, **problem_doc("The model is queued, running or failed: no snapshots"))
    @heavy_view
    def get(self, model_id: str) -> Response:
        """List the snapshots: index, iteration, loss, and pieces (1D) or regions (2D).

        Pieces are counted on the default domain of `/knots`, regions in the
        default box of `/regions` (null past RELUMAP_MAX_PIECES or
        RELUMAP_MAX_REGIONS); models of more inputs have neither. A model fitted
        without `snapshots` has an empty list.
        """
        record = get_model_or_404(model_id)
        network = succeeded_network(record)
        etag = representation_key(record, "snapshots", "application/json", {})
        cached = cached_answer(etag, "application/json")
        if cached is not None:
            return cached
        domain = default_domain(record, network.n_inputs)
        rows = services().store.list_snapshots(record.id)
        budget = work_budget() if rows else None
        entries = []
        for row in rows:
            entry: dict[str, Any] = {"index": row.idx, "iteration": row.iteration, "loss": row.loss}
            entry.update(_count(unpack_weights(row.weights, network), domain, budget))
            entries.append(entry)
        document = {"model_id": record.id, "snapshots": entries}
        return remember_answer(etag, orjson.dumps(document), "application/json")
