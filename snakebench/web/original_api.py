"""The original SnakeBench backend's read-only API, under ``/original``, so the
original's own Next.js site can be pointed at this server (its ``FLASK_URL`` and
``NEXT_PUBLIC_FLASK_URL`` set to ``http://HOST/original``): same paths, query
parameters and JSON shapes (:mod:`snakebench.web.data.original`), documented in the
OpenAPI document and in docs/ORIGINAL_API.md.

Errors are the original's ``{"error": "one line"}``: 400 a bad query parameter (the
original ignored those; here a typo is said, not silently defaulted), 404 an unknown
model, game or route, 405, 500. Pages on the origins in
``SNAKEBENCH_ORIGINAL_CORS_ORIGINS`` may read it (CORS, preflight included); no other
origin is granted anything, and there is nothing here to write.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, url_for

from snakebench.config import get_settings
from snakebench.web.api import ApiError, _check_value
from snakebench.web.data import original
from snakebench.web.openapi import ORIGINAL_QUERIES, Param

PREFIX = "/original"
API_PREFIX = f"{PREFIX}/api/"
MAX_AGE = 600  # seconds a browser may keep a preflight's answer

blueprint = Blueprint("original_api", __name__, url_prefix=f"{PREFIX}/api")

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class BadParameter(ValueError):
    """A query parameter the route cannot take: a 400 with one line."""


def install(app: Flask) -> None:
    """Register the routes, the original's JSON errors for every answer under
    ``/original/api/`` (routing 404s and 405s included) and CORS."""
    app.register_blueprint(blueprint)
    app.after_request(_finish)


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": " ".join(message.split())})
    response.status_code = status
    return response


@blueprint.errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter) -> Response:
    return _error(400, str(exc))


@blueprint.errorhandler(LookupError)
def _not_found(exc: LookupError) -> Response:
    return _error(404, str(exc.args[0]) if exc.args else "not found")


def _finish(response: Response) -> Response:
    """Under ``/original/api/``: a non-JSON error (Flask's 404, 405 and 500, the
    login's 401) becomes ``{"error": ...}`` keeping ``Allow`` and the like, and an
    allowed origin gets its CORS headers."""
    if not request.path.startswith(API_PREFIX):
        return response
    if response.status_code >= 400 and not response.is_json:
        message = (response.status or "").partition(" ")[2] or "error"
        replacement = _error(response.status_code, message)
        for name in ("Allow", "WWW-Authenticate", "Retry-After"):
            if name in response.headers:
                replacement.headers[name] = response.headers[name]
        response = replacement
    _cors(response)
    return response


def _cors(response: Response) -> None:
    """CORS for the origins of ``SNAKEBENCH_ORIGINAL_CORS_ORIGINS`` only: reads (GET,
    HEAD) and their preflight (OPTIONS, which Flask answers for every route)."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin is None or origin not in get_settings().original_cors_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            response.headers["Access-Control-Allow-Headers"] = asked
        response.headers["Access-Control-Max-Age"] = str(MAX_AGE)


def _query(route: str) -> dict[str, Any]:
    """The route's query string checked against its ORIGINAL_QUERIES table."""
    params = {param.name: param for param in ORIGINAL_QUERIES.get(route, ())}
    for name in request.args:
        if name not in params:
            raise BadParameter(f"unknown query parameter {name!r}")
    return {name: _value(params[name], raw) for name, raw in request.args.items()}


def _value(param: Param, raw: str) -> Any:
    value: Any = raw
    if param.kind == "integer":
        if not _INTEGER.fullmatch(raw.strip()):
            raise BadParameter(f"{param.name} must be an integer, not {raw!r}")
        value = int(raw)
    elif param.kind == "boolean":
        if raw.strip().lower() not in _BOOLEANS:
            raise BadParameter(f"{param.name} must be true or false, not {raw!r}")
        value = _BOOLEANS[raw.strip().lower()]
    try:
        _check_value(param, value)
    except ApiError as exc:
        raise BadParameter(f"{param.name} {exc.message}") from None
    return value


# --- the routes ------------------------------------------------------------------------


@blueprint.get("/models")
def models() -> Response:
    return jsonify(original.models(**_query("models")))


@blueprint.get("/models/<path:name>")
def model(name: str) -> Response:
    _query("model")
    return jsonify(original.model(name))


@blueprint.get("/games")
def games() -> Response:
    return jsonify(original.games(_replay_url, **_query("games")))


def _replay_url(game_id: str) -> str:
    return url_for("original_api.match", match_id=game_id, _external=True)


@blueprint.get("/matches/top-apples")
def top_apples() -> Response:
    _query("top-apples")
    return jsonify(original.top_apples())


@blueprint.get("/matches/<match_id>")
def match(match_id: str) -> Response:
    _query("match")
    return jsonify(original.match(match_id))


@blueprint.get("/stats")
def stats() -> Response:
    query = _query("stats")
    try:
        found = original.stats(query.get("simple", False), query.get("model"))
    except ValueError as exc:  # neither simple nor model, as the original says
        raise BadParameter(str(exc)) from None
    return jsonify(found)


@blueprint.get("/games/live")
def live_games() -> Response:
    _query("live")
    return jsonify(original.live_games())


@blueprint.get("/games/<game_id>/live")
def live_game(game_id: str) -> Response:
    _query("live-game")
    return jsonify(original.live_game(game_id))
