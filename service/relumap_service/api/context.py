"""Access to the store, queue and settings of the current app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from flask_smorest import abort

from relumap_service.jobs import FitQueue
from relumap_service.store import DatasetRecord, ModelRecord, Store

__all__ = [
    "Services",
    "dataset_of",
    "get_dataset_or_404",
    "get_model_or_404",
    "page_bounds",
    "services",
]


@dataclass
class Services:
    """What the views of one app share."""

    config: dict[str, Any]
    store: Store
    queue: FitQueue


_MAX_OFFSET = 2**62


def services() -> Services:
    """Return the services of the current app."""
    found: Services = current_app.extensions["relumap"]
    return found


def get_dataset_or_404(dataset_id: str) -> DatasetRecord:
    """Return a dataset or answer 404."""
    record = services().store.get_dataset(dataset_id)
    if record is None:
        abort(404, message=f"no dataset with id {dataset_id!r}; list them with GET /v1/datasets")
    assert record is not None
    return record


def dataset_of(record: ModelRecord) -> DatasetRecord | None:
    """Return the data set a model was fitted on, loaded once per request.

    A geometry or plot request needs it for the default domain, the training
    inputs and the title; a data set holds up to `MAX_SAMPLES` rows of JSON.
    """
    if not record.dataset_id:
        return None
    cache: dict[str, DatasetRecord | None] = g.setdefault("relumap_datasets", {})
    if record.dataset_id not in cache:
        cache[record.dataset_id] = services().store.get_dataset(record.dataset_id)
    return cache[record.dataset_id]


def get_model_or_404(model_id: str) -> ModelRecord:
    """Return a model or answer 404."""
    record = services().store.get_model(model_id)
    if record is None:
        abort(404, message=f"no model with id {model_id!r}; list them with GET /v1/models")
    assert record is not None
    return record


def page_bounds(pagination_parameters: Any) -> tuple[int, int]:
    """Return (offset, limit) from flask-smorest's pagination parameters.

    Pages far past the end are empty, not an overflow of the database's integers.
    """
    return min(pagination_parameters.first_item, _MAX_OFFSET), pagination_parameters.page_size
