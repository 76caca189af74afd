"""Python client for the relumap service: see exactly what a ReLU network computes.

Examples
--------
>>> import relumap
>>> client = relumap.Client()  # doctest: +SKIP
>>> data = client.generate("square", noise=0.05)  # doctest: +SKIP
>>> model = client.fit(data, hidden_layer_sizes=[16])  # doctest: +SKIP
>>> model.knots().x  # doctest: +SKIP
>>> model.plot()  # doctest: +SKIP

The base install needs only requests and numpy. Extras: ``plot``
(matplotlib), ``sklearn`` (the estimators in :mod:`relumap.sklearn`),
``pandas`` (``to_frame()``) and ``progress`` (tqdm progress bars).
"""

from relumap._version import __version__
from relumap.client import Client
from relumap.comparison import Comparison
from relumap.datasets import Dataset
from relumap.diagnostics import AffineMap, LocalAffine, NeuronDiagnostics
from relumap.errors import (
    Conflict,
    ConnectionFailed,
    FitFailed,
    HTTPError,
    NotFound,
    PayloadTooLarge,
    RelumapError,
    ServerError,
    ServiceUnavailable,
    Timeout,
    Unauthorized,
    ValidationError,
    WrongTask,
)
from relumap.knots import Knots
from relumap.metrics import Metrics
from relumap.models import Model
from relumap.regions import DecisionBoundary, Regions
from relumap.snapshots import Snapshot
from relumap.units import UnitMaps
from relumap.weights import Weights

__all__ = [
    "AffineMap",
    "Client",
    "Comparison",
    "Conflict",
    "ConnectionFailed",
    "Dataset",
    "DecisionBoundary",
    "FitFailed",
    "HTTPError",
    "Knots",
    "LocalAffine",
    "Metrics",
    "Model",
    "NeuronDiagnostics",
    "NotFound",
    "PayloadTooLarge",
    "Regions",
    "Snapshot",
    "RelumapError",
    "ServerError",
    "ServiceUnavailable",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "UnitMaps",
    "Weights",
    "WrongTask",
    "__version__",
]
