"""Exceptions: one root, :class:`RelumapError`, built from the service's problem documents.

As in requests (``class InvalidURL(RequestException, ValueError)``), each
subclass also inherits the matching built-in, so ``except ValueError`` catches a
rejected parameter and ``except LookupError`` a missing model. Every error keeps
what the service said: ``status``, ``detail``, the RFC 9457 ``problem``
document and the ``response``.

Examples
--------
>>> import relumap
>>> issubclass(relumap.ValidationError, ValueError)
True
>>> issubclass(relumap.NotFound, LookupError)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from relumap.models import Model

__all__ = [
    "Conflict",
    "ConnectionFailed",
    "FitFailed",
    "HTTPError",
    "NotFound",
    "PayloadTooLarge",
    "RelumapError",
    "ServerError",
    "ServiceUnavailable",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "WrongTask",
    "error_from_response",
]


class RelumapError(Exception):
    """Root of every error the client raises.

    Parameters
    ----------
    detail : str
        What went wrong and what to do, as the service or the client said it.
    status : int, optional
        HTTP status of the response, None when there was no response.
    problem : mapping, optional
        The service's problem document (``type``, ``title``, ``status``,
        ``detail`` and, for validation errors, ``errors``).
    response : requests.Response, optional
        The response that carried the error.
    url : str, optional
        The URL that was requested.

    Attributes
    ----------
    detail, status, problem, response, url
        As given; ``problem`` is an empty dict when there was none.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        problem: Mapping[str, Any] | None = None,
        response: requests.Response | None = None,
        url: str | None = None,
    ) -> None:
        title = (problem or {}).get("title") or (response.reason if response is not None else "")
        message = detail if status is None else f"{status} {title}: {detail}".replace(" :", ":")
        super().__init__(message)
        self.detail = detail
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        self.response = response
        self.url = url


class ConnectionFailed(RelumapError, ConnectionError):
    """The service could not be reached; ``url`` is the address tried."""


class Timeout(RelumapError, TimeoutError):
    """A request, or a wait for a fit, took longer than allowed."""


class HTTPError(RelumapError):
    """The service answered with an error status not covered by a subclass."""


class ValidationError(HTTPError, ValueError):
    """The request was invalid (400 or 422), or the client rejected an input before sending.

    Attributes
    ----------
    errors : dict
        Field errors, e.g. ``{"hidden_layer_sizes": {"0": ["Must be ..."]}}``.
    """

    @property
    def errors(self) -> dict[str, Any]:
        """Field errors from the problem document (empty when there are none)."""
        found = self.problem.get("errors")
        return dict(found) if isinstance(found, Mapping) else {}


class WrongTask(RelumapError, ValueError):
    """The operation does not apply to the model's task, say ``predict_proba`` on a regressor."""


class Unauthorized(HTTPError, PermissionError):
    """The API key is missing or wrong (401), or not allowed to do this (403)."""


class NotFound(HTTPError, LookupError):
    """No such data set or model (404)."""


class Conflict(HTTPError):
    """The request conflicts with the resource's state (409).

    For example deleting a data set that models use, or asking a model that
    has not succeeded for its weights.
    """


class PayloadTooLarge(HTTPError, ValueError):
    """The request exceeds a limit of the service (413); ``GET /v1`` lists the limits."""


class ServerError(HTTPError):
    """The service failed (5xx)."""


class ServiceUnavailable(ServerError):
    """The service or a gateway is unavailable (502, 503, 504), even after retries."""


class FitFailed(RelumapError):
    """A fit ended with status ``failed``; ``model`` holds it and ``detail`` its error."""

    def __init__(self, model: Model) -> None:
        super().__init__(f"the fit of model {model.id} failed: {model.error}")
        self.model = model


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def error_from_response(response: requests.Response) -> HTTPError:
    """Build the exception for an error response from its problem document.

    Parameters
    ----------
    response : requests.Response
        A response with a 4xx or 5xx status. A body that is not a problem
        document (say, a proxy's HTML page) still gives an error, whose detail
        is the start of the body.

    Returns
    -------
    HTTPError
        The most specific subclass for the status.
    """
    problem: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        problem = body
    detail = problem.get("detail")
    if not isinstance(detail, str) or not detail:
        text = response.text.strip()
        detail = text[:500] if text else (response.reason or "no detail given")
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else HTTPError)
    return cls(
        detail,
        status=status,
        problem=problem,
        response=response,
        url=response.request.url if response.request is not None else response.url,
    )
