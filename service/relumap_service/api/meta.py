"""Service description and health: `GET /v1`, `/livez` and `/readyz`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_service import __version__
from relumap_service.api.context import services
from relumap_service.api.schemas import HealthSchema, ServiceInfoSchema
from relumap_service.config import LIMIT_KEYS
from relumap_service.core.datasets import KINDS

blp = Blueprint("meta", __name__, description="Service description and health")


@blp.route("/v1")
class ServiceInfo(MethodView):
    """What this service is and the limits in force."""

    @blp.response(200, ServiceInfoSchema)
    def get(self) -> dict[str, Any]:
        """Name, version, limits in force and built-in data set kinds."""
        config = services().config
        return {
            "name": "relumap",
            "version": __version__,
            "limits": {key.removeprefix("MAX_").lower(): config[key] for key in LIMIT_KEYS},
            "dataset_kinds": {
                name: {
                    "n_features": spec.n_features,
                    "task": spec.task,
                    "description": spec.description,
                }
                for name, spec in KINDS.items()
            },
            "links": {
                "datasets": "/v1/datasets",
                "models": "/v1/models",
                "openapi": "/openapi.json",
                "docs": "/docs",
            },
        }


@blp.route("/livez")
class Liveness(MethodView):
    """The process answers."""

    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Answer 200 while the process serves requests."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    """The process can do its work."""

    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Answer 200 when the database and the queue are reachable, else 503."""
        svc = services()
        checks = {}
        for name, ping in (("database", svc.store.ping), ("queue", svc.queue.ping)):
            try:
                ping()
            except Exception as exc:
                checks[name] = f"unreachable: {type(exc).__name__}"
            else:
                checks[name] = "ok"
        if any(value != "ok" for value in checks.values()):
            abort(
                503,
                message="not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items()),
                headers={"Retry-After": "5"},
            )
        return {"status": "ok", "checks": checks}
