"""The JSON API under ``/api``: reads through :mod:`snakebench.web.data`, and batch
submission the way ``python -m snakebench.dispatch`` submits.

Errors are JSON everywhere under ``/api`` (``{"error": {"message", "field"?}}``):
400 malformed JSON, 401/403 credentials (:mod:`snakebench.web.auth`), 404 unknown ids
and routes, 405, 422 an invalid field or parameter (``field`` names it), 503 Redis
unreachable, 500 anything else. The document at ``/api/openapi.json`` describes it all
and is built from the same parameter tables the checks here use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import redis
from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from snakebench.config import ConfigError, get_settings
from snakebench.engine.rules import RulesError
from snakebench.games.prompts import PromptVariantError
from snakebench.providers.base import MissingApiKeyError
from snakebench.queueing import QueueError
from snakebench.services.batches import (
    BatchError,
    BatchSpec,
    NotEnqueuedError,
    submit_batch,
)
from snakebench.services.budget import BudgetError
from snakebench.store import InactiveModelError, UnknownModelError
from snakebench.web import data
from snakebench.web.openapi import BATCH_FIELDS, QUERIES, Param, openapi_document
from snakebench.web.services import log, services

blueprint = Blueprint("api", __name__, url_prefix="/api")

_INTEGER = re.compile(r"-?[0-9]{1,19}")


class ApiError(Exception):
    """An error answered as JSON with ``status``; ``field`` for a 422."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def install(app: Flask) -> None:
    """Register the API and make every error under ``/api`` JSON, whichever handler
    (Flask's, the pages') produced it."""
    app.register_blueprint(blueprint)
    app.after_request(_json_errors)


def error_response(status: int, message: str, field: str | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if field is not None:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _json_errors(response: Response) -> Response:
    """Turn a non-JSON error response under ``/api`` (a routing 404 or 405, Flask's
    500 page) into the API's JSON error, keeping headers such as ``Allow``."""
    under_api = request.path == "/api" or request.path.startswith("/api/")
    if not under_api or response.status_code < 400 or response.is_json:
        return response
    message = (response.status or str(response.status_code)).partition(" ")[2] or "error"
    replacement = error_response(response.status_code, message)
    for name in ("Allow", "WWW-Authenticate", "Retry-After"):
        if name in response.headers:
            replacement.headers[name] = response.headers[name]
    return replacement


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.field)


@blueprint.errorhandler(data.InvalidArgument)
def _invalid(exc: data.InvalidArgument) -> Response:
    return error_response(422, exc.message, exc.field)


@blueprint.errorhandler(LookupError)
def _not_found(exc: LookupError) -> Response:
    return error_response(404, str(exc.args[0]) if exc.args else "not found")


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


@blueprint.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> Response:
    log.warning("api: Redis unreachable: %s", exc)
    return error_response(503, "Redis is unreachable; try again later")


# --- reads ---------------------------------------------------------------------------


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


# Each read: its URL rule, its endpoint, the :mod:`snakebench.web.data` function that
# answers it (found by name per request, called with the rule's path values) and the
# QUERIES table its query string is checked against (none: it takes no query string).
_READS = (
    ("/leaderboard", "leaderboard", "leaderboard", "leaderboard"),
    ("/models/<path:name>", "model", "model_detail", None),
    ("/games", "games", "list_games", "games"),
    ("/games/<game_id>", "game", "game_detail", None),
    ("/games/<game_id>/replay", "replay", "game_replay", None),
    ("/batches", "batches", "list_batches", "batches"),
    ("/batches/<batch_id>", "batch", "batch_detail", None),
    ("/live", "live", "live_games", "live"),
    ("/live/<game_id>", "live_game", "live_game", None),
)


def _read_view(reader: str, route: str | None) -> Callable[..., Response]:
    def view(**path: str) -> Response:
        query = _query(route) if route is not None else {}
        return jsonify(getattr(data, reader)(**path, **query))

    return view


for _rule, _endpoint, _reader, _route in _READS:
    blueprint.add_url_rule(_rule, _endpoint, _read_view(_reader, _route), methods=["GET"])


def _query(route: str) -> dict[str, Any]:
    """The route's query string checked against its table: unknown names, wrong
    types and values out of range are a 422 naming the parameter."""
    params = {param.name: param for param in QUERIES[route]}
    for name in request.args:
        if name not in params:
            raise ApiError(422, f"unknown query parameter {name!r}", name)
    return {
        name: _query_value(params[name], raw)
        for name, raw in request.args.items()
        if name in params
    }


def _query_value(param: Param, raw: str) -> Any:
    if param.kind == "integer":
        if not _INTEGER.fullmatch(raw.strip()):
            raise ApiError(422, "must be an integer", param.name)
        value: Any = int(raw)
    else:
        value = raw
    _check_value(param, value)
    return value


# --- batch submission ----------------------------------------------------------------


@blueprint.post("/batches")
def create_batch() -> tuple[Response, int]:
    """Check the request, then submit the batch as the CLI does
    (:func:`snakebench.services.batches.submit`: Redis must answer before anything is
    written; plan, budget, write, enqueue). Redis failing after the write leaves queued
    games that ``dispatch reconcile`` enqueues: the database is the truth."""
    values = _batch_values(_json_body())
    spec = BatchSpec(**values)
    services().database()
    # The web server's daily cap travels with the batch: a worker started without
    # SNAKEBENCH_DAILY_CAP still holds the games a token holder submitted to it.
    params = {"daily_cap": get_settings().daily_cap}
    try:
        with _refusals_as_422(spec):
            created = submit_batch(spec, services().redis(), params=params)
    except QueueError as exc:  # Redis did not answer: nothing was written
        log.warning("api: %s", exc)
        raise ApiError(503, "Redis is unreachable; try again later") from None
    except NotEnqueuedError as exc:
        log.warning("api: %s", exc)
        message = f"batch {exc.batch_id} was written but Redis failed; reconcile enqueues it"
        raise ApiError(503, message) from None
    estimate = (created.params or {}).get("estimated_cost")
    body = {"batch_id": created.id, "total": created.total_games, "estimated_cost": estimate}
    return jsonify(body), 201


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json's parser recurses once per level: [[[[...]]]] x 100,000
        raise ApiError(400, "the body is nested too deeply to be a batch") from None
    if body is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _batch_values(body: Mapping[str, Any]) -> dict[str, Any]:
    fields = {param.name: param for param in BATCH_FIELDS}
    for name in body:
        if name not in fields:
            raise ApiError(422, "unknown field", str(name))
    for param in BATCH_FIELDS:
        if param.required and param.name not in body:
            raise ApiError(422, "is required", param.name)
    for name, value in body.items():
        _check_value(fields[name], value)
    return {name: value for name, value in body.items() if value is not None}


def _check_value(param: Param, value: Any) -> None:
    """``value`` against the parameter's JSON type and bounds (422 naming it)."""
    if value is None:
        if not param.nullable:
            _invalid_field(param, "must not be null")
        return
    if not _has_kind(param.kind, value):
        _invalid_field(param, f"must be {_article(param.kind)}")
    if param.enum is not None and value not in param.enum:
        _invalid_field(param, f"must be one of {', '.join(param.enum)}")
    if isinstance(value, str) and not 1 <= len(value) <= (param.max_length or len(value) + 1):
        _invalid_field(param, f"must have 1 to {param.max_length} characters")
    if param.minimum is not None and not isinstance(value, str | bool):
        below = value <= param.minimum if param.exclusive_minimum else value < param.minimum
        if below:
            _invalid_field(param, f"must be {'above' if param.exclusive_minimum else 'at least'} "
                           f"{param.minimum}")  # fmt: skip
    if param.maximum is not None and not isinstance(value, str | bool) and value > param.maximum:
        _invalid_field(param, f"must be at most {param.maximum}")


def _has_kind(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _article(kind: str) -> str:
    return f"an {kind}" if kind == "integer" else f"a {kind}"


def _invalid_field(param: Param, message: str) -> NoReturn:
    raise ApiError(422, message, param.name)


@contextmanager
def _refusals_as_422(spec: BatchSpec) -> Iterator[None]:
    """The planning and budget refusals of submitting, as 422s naming a field."""
    try:
        yield
    except (UnknownModelError, InactiveModelError) as exc:
        raise ApiError(422, str(exc), _model_field(spec, exc.name)) from None
    except MissingApiKeyError as exc:
        raise ApiError(422, str(exc), _model_field(spec, exc.model)) from None
    except BudgetError as exc:
        raise ApiError(422, str(exc), "max_cost") from None
    except (BatchError, RulesError, PromptVariantError) as exc:
        raise ApiError(422, str(exc), exc.field) from None
    except ConfigError as exc:  # the server's own set-up (e.g. its replay folder)
        log.error("api: cannot plan a batch: %s", exc)
        raise ApiError(503, "the server cannot run games now (configuration)") from None


def _model_field(spec: BatchSpec, name: str) -> str:
    return "model_b" if name == spec.model_b and name != spec.model_a else "model_a"
