"""The HTTP API: one blueprint per resource, problem+json errors, OpenAPI 3.1."""

from __future__ import annotations

from flask import Flask

from relumap_service.api import datasets, meta, models
from relumap_service.api.errors import ProblemApi

__all__ = ["init_api"]

def init_api(app: Flask) -> ProblemApi:
    """Register the blueprints and the OpenAPI document on ``app``."""
    api = ProblemApi(app)
    for blueprint in (meta.blp, datasets.blp, models.blp):
        api.register_blueprint(blueprint)
    return api
