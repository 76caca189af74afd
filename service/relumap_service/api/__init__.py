"""The HTTP API: one blueprint per resource, problem+json errors, OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter

from relumap_service.api import (
    datasets,
    geometry,
    inference,
    meta,
    models,
    networks,
    onnx_files,
    playground,
    plots,
    problem_types,
    snapshots,
)
from relumap_service.api.errors import ProblemApi
from relumap_service.api.heavy_work import init_heavy_work
from relumap_service.api.outages import init_outages

__all__ = ["init_api"]


class IdConverter(BaseConverter):
    """A resource id: 32 lowercase hex digits, so `/v1/datasets/generate` is no id."""

    regex = "[0-9a-f]{32}"


def _id_schema(converter: Any) -> dict[str, str]:
    return {"type": "string", "pattern": "^[0-9a-f]{32}$"}


def init_api(app: Flask) -> ProblemApi:
    """Register the blueprints and the OpenAPI document on `app`."""
    app.url_map.converters["id"] = IdConverter
    api = ProblemApi(app)
    init_outages(app)
    init_heavy_work(app)
    api.register_converter(IdConverter, _id_schema)
    for blueprint in (meta.blp, datasets.blp, models.blp, geometry.blp, networks.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(snapshots.blp)
    api.register_blueprint(plots.blp)
    api.register_blueprint(onnx_files.blp)
    api.register_blueprint(inference.blp)
    api.register_blueprint(problem_types.blp)
    app.register_blueprint(playground.bp)
    return api
