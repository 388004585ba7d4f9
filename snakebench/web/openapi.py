"""The JSON API's OpenAPI 3.0 document, and the parameter tables the API validates by.

The request fields and query parameters are declared once, here, as :class:`Param`
rows: :mod:`snakebench.web.api` checks requests against the same rows the document
is built from, so the document cannot drift from what the server accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snakebench import __version__
from snakebench.options import DEFAULTS, OPTION_ROWS, OptionRow
from snakebench.queueing import QUEUE_NAMES
from snakebench.services.batches import MAX_SEED
from snakebench.services.leaderboard import METHODS
from snakebench.services.webhooks import MAX_URL_CHARS
from snakebench.store import GAME_STATUSES
from snakebench.store.models import RESULTS
from snakebench.store.original_queries import GAME_SORTS
from snakebench.web.data import MAX_LIMIT, MAX_PAGE, MAX_PER_PAGE

MAX_BATCH_GAMES = 10_000
MAX_NAME_LENGTH = 200
MAX_OPTION_NAME = 40  # a name option's longest value (a prompt variant's name)


@dataclass(frozen=True)
class Param:
    """One request field or query parameter: its JSON type and what it may hold."""

    name: str
    kind: str  # string | integer | number | boolean
    required: bool = False
    nullable: bool = False
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    enum: tuple[str, ...] | None = None
    max_length: int | None = None
    default: Any = None
    description: str = ""

    def schema(self) -> dict[str, Any]:
        """This parameter as an OpenAPI 3.0 schema."""
        schema: dict[str, Any] = {"type": self.kind}
        optional = {
            "nullable": self.nullable or None,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "exclusiveMinimum": self.exclusive_minimum or None,
            "enum": list(self.enum) if self.enum else None,
            "maxLength": self.max_length,
            "minLength": 1 if self.kind == "string" else None,
            "default": self.default,
            "description": self.description or None,
        }
        schema.update({key: value for key, value in optional.items() if value is not None})
        return schema


def _option_param(row: OptionRow) -> Param:
    """A game option as a request field: the bounds, choices and help of its row."""
    kind = "integer" if row.kind is int else "string"
    return Param(row.name, kind, minimum=row.minimum, maximum=row.maximum, enum=row.choices,
                 nullable=row.nullable, max_length=MAX_OPTION_NAME if row.nullable else None,
                 default=getattr(DEFAULTS, row.name), description=row.help)  # fmt: skip


BATCH_FIELDS: tuple[Param, ...] = (
    Param("model_a", "string", required=True, max_length=MAX_NAME_LENGTH,
          description="Snake 0's model (a registered, active model name)."),
    Param("model_b", "string", required=True, max_length=MAX_NAME_LENGTH,
          description="Snake 1's model."),
    Param("count", "integer", minimum=1, maximum=MAX_BATCH_GAMES, default=10,
          description="Games to play; even with mirror."),
    *(_option_param(row) for row in OPTION_ROWS),
    Param("seed", "integer", nullable=True, minimum=0, maximum=MAX_SEED,
          description="Game (or mirrored pair) i gets seed + i; null draws random seeds."),
    Param("mirror", "boolean", default=False,
          description="Play each seed twice, sides swapped."),
    Param("priority", "string", enum=tuple(QUEUE_NAMES), default="normal"),
    Param("max_cost", "number", nullable=True, minimum=0, exclusive_minimum=True,
          description="Budget in USD, a hard cap held call by call; the batch is refused "
                      "(422) if its worst case is above it."),
    Param("name", "string", nullable=True, max_length=MAX_NAME_LENGTH),
    Param("webhook", "string", nullable=True, max_length=MAX_URL_CHARS,
          description="An http(s) URL this batch's events are also POSTed to (docs/WEBHOOKS.md)."),
)  # fmt: skip

LIMIT = Param("limit", "integer", minimum=1, maximum=MAX_LIMIT, default=50)
QUERIES: dict[str, tuple[Param, ...]] = {
    "games": (
        Param("model", "string", max_length=MAX_NAME_LENGTH, description="Games it played."),
        Param("batch", "string", max_length=MAX_NAME_LENGTH, description="A batch id."),
        Param("status", "string", enum=GAME_STATUSES),
        Param("result", "string", enum=RESULTS, description="model's result; needs model."),
        Param("page", "integer", minimum=1, maximum=MAX_PAGE, default=1),
        Param("per_page", "integer", minimum=1, maximum=MAX_PER_PAGE, default=50),
    ),
    "leaderboard": (
        Param("method", "string", enum=METHODS, default="trueskill"),
        Param("min_games", "integer", minimum=0, default=0),
        Param(
            "prompt_variant",
            "string",
            max_length=MAX_OPTION_NAME,
            description="Records over the games each model played under this prompt "
            "variant only; ratings stay over every rated game.",
        ),
    ),
    "batches": (LIMIT,),
    "live": (LIMIT,),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _object(properties: dict[str, Any], *, extra: bool = False) -> dict[str, Any]:
    """An object whose every listed property is always present."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": extra,
    }


def _t(kind: str, nullable: bool = False, **more: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind, **more}
    if nullable:
        schema["nullable"] = True
    return schema


INT, NUM, STR, BOOL = _t("integer"), _t("number"), _t("string"), _t("boolean")
NULL_STR, NULL_NUM, NULL_INT = _t("string", True), _t("number", True), _t("integer", True)
RESULT = {"type": "string", "enum": list(RESULTS), "nullable": True}
CELL = {"type": "array", "items": INT, "minItems": 2, "maxItems": 2}
BOARD_STATE = _object(
    {
        "snakes": {"type": "object", "additionalProperties": {"type": "array", "items": CELL}},
        "apples": {"type": "array", "items": CELL},
        "alive": {"type": "object", "additionalProperties": BOOL},
        "scores": {"type": "object", "additionalProperties": INT},
    }
)
PLAYER = _object(
    {"slot": INT, "model": STR, "score": INT, "result": RESULT, "cost": NUM, "invalid_moves": INT}
)
GAME_SUMMARY_PROPERTIES: dict[str, Any] = {
    "id": STR,
    "status": {"type": "string", "enum": list(GAME_STATUSES)},
    "created_at": STR,
    "ended_at": NULL_STR,
    "rounds": INT,
    "max_rounds": INT,
    "batch_id": NULL_STR,
    "game_type": STR,
    "total_cost": NUM,
    "players": {"type": "array", "items": _ref("Player")},
    "winner": NULL_STR,
    "undone_at": NULL_STR,
}
PARTICIPANT = _object(
    {
        "slot": INT, "model": STR, "score": INT, "result": RESULT, "cost": NUM,
        "input_tokens": INT, "output_tokens": INT, "reasoning_tokens": INT,
        "provider_cost": NULL_NUM, "invalid_moves": INT, "moves": INT,
        "fallback_parses": INT, "death_round": NULL_INT, "death_reason": NULL_STR,
        "total_latency_ms": NUM, "total_wait_ms": NUM, "prompt_variant": NULL_STR,
        "prompt_sha": NULL_STR,
    }
)  # fmt: skip
GAME_DETAIL = _object(
    {
        **GAME_SUMMARY_PROPERTIES,
        "seed": INT, "width": INT, "height": INT, "num_apples": INT, "error": NULL_STR,
        "started_at": NULL_STR, "worker": NULL_STR, "replay_available": BOOL,
        "participants": {"type": "array", "items": _ref("Participant")},
    }
)  # fmt: skip
LEADERBOARD_ROW = _object(
    {
        "rank": INT, "model": STR, "rating": NUM, "lower": NUM, "upper": NUM, "games": INT,
        "wins": INT, "losses": INT, "ties": INT, "win_rate": NUM, "apples_per_game": NUM,
        "invalid_move_rate": NUM, "fallback_parse_rate": NUM, "cost": NUM,
        "cost_per_game": NUM, "cost_per_point": NULL_NUM, "apples": INT, "top_score": INT,
    }
)  # fmt: skip
MODEL_DETAIL = _object(
    {
        "model": _object(
            {
                "name": STR, "provider": STR, "model_slug": STR, "test_status": STR,
                "status": STR, "is_active": BOOL, "trueskill_mu": NUM, "trueskill_sigma": NUM,
                "rating": NUM, "price_input_per_m": NUM, "price_output_per_m": NUM,
            }
        ),
        "record": _object(
            {
                "games": INT, "wins": INT, "losses": INT, "ties": INT, "apples": INT,
                "cost": NUM, "invalid_moves": INT, "fallback_parses": INT, "moves": INT,
                "top_score": INT,
            }
        ),
        "rating_history": {
            "type": "array",
            "items": _object(
                {"game_id": STR, "at": NULL_STR, "mu": NUM, "sigma": NUM, "rating": NUM}
            ),
        },
        "recent_games": {"type": "array", "items": _ref("GameSummary")},
        "games": {"type": "array", "items": _ref("ModelGame")},
    }
)  # fmt: skip
BATCH_PROPERTIES: dict[str, Any] = {
    "batch_id": STR, "name": NULL_STR, "status": STR, "created_at": STR, "total": INT,
    "queued": INT, "running": INT, "completed": INT, "failed": INT, "void": INT,
    "cancelled": INT, "done": INT, "finished": BOOL, "cost": NUM, "max_cost": NULL_NUM,
    "params": {"type": "object", "additionalProperties": True},
    "first_started_at": NULL_STR, "last_ended_at": NULL_STR, "games_per_minute": NULL_NUM,
}  # fmt: skip
FAILURE = _object({"game_id": STR, "status": STR, "error": NULL_STR})
LIVE_GAME = _object(
    {
        "game_id": STR, "round": INT, "max_rounds": INT, "width": INT, "height": INT,
        "players": {"type": "array", "items": _object({"slot": INT, "model": STR})},
        "state": {**BOARD_STATE, "nullable": True}, "updated_at": NULL_STR,
    }
)  # fmt: skip
THOUGHTS = _object(
    {"rationale": STR, "rationale_round": INT, "thinking_since": NULL_NUM, "move": STR}
)
LIVE_GAME_DETAIL = _object(
    {
        "game_id": STR, "status": {"type": "string", "enum": list(GAME_STATUSES)},
        "finished": BOOL, "round": INT, "max_rounds": INT, "width": INT, "height": INT,
        "models": {"type": "object", "additionalProperties": STR},
        "players": {"type": "object", "additionalProperties": _ref("Thoughts")},
        "state": {**BOARD_STATE, "nullable": True}, "updated_at": NULL_STR,
        "server_time": NUM,
    }
)  # fmt: skip
REPLAY = {
    "type": "object",
    "required": ["game", "players", "initial_state", "frames"],
    "properties": {
        "version": INT,
        "game": {"type": "object"},
        "players": {"type": "object"},
        "initial_state": {"type": "object"},
        "frames": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
    "description": "Replay format version 1 (docs/RULES.md).",
}
TOTALS = _object(
    {
        "games": INT,
        "models": INT,
        "top_score": INT,
        "total_cost": NUM,
        "top_game_id": NULL_STR,
        "top_game_apples": INT,
    }
)
MODEL_GAME = _object(
    {
        "game_id": STR, "status": {"type": "string", "enum": list(GAME_STATUSES)},
        "created_at": STR, "started_at": NULL_STR, "ended_at": NULL_STR,
        "wall_seconds": NULL_NUM, "rounds": INT, "max_rounds": INT, "slot": INT, "score": INT,
        "result": RESULT, "death_reason": NULL_STR, "death_round": NULL_INT, "cost": NUM,
        "opponent": NULL_STR, "opponent_score": NULL_INT, "opponent_rank": NULL_INT,
    }
)  # fmt: skip
ERROR = _object(
    {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": STR, "field": STR},
            "additionalProperties": False,
        }
    }
)


def batch_request_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": [field.name for field in BATCH_FIELDS if field.required],
        "properties": {field.name: field.schema() for field in BATCH_FIELDS},
        "additionalProperties": False,
    }


SCHEMAS: dict[str, Any] = {
    "Error": ERROR,
    "Player": PLAYER,
    "GameSummary": _object(GAME_SUMMARY_PROPERTIES),
    "GameDetail": GAME_DETAIL,
    "GamePage": _object(
        {"games": _array("GameSummary"), "total": INT, "page": INT, "per_page": INT}
    ),
    "Participant": PARTICIPANT,
    "Replay": REPLAY,
    "LeaderboardRow": LEADERBOARD_ROW,
    "ModelDetail": MODEL_DETAIL,
    "Batch": _object(BATCH_PROPERTIES),
    "BatchDetail": _object(
        {**BATCH_PROPERTIES, "failures": {"type": "array", "items": _ref("Failure")}}
    ),
    "Failure": FAILURE,
    "BatchRequest": batch_request_schema(),
    "BatchCreated": _object({"batch_id": STR, "total": INT, "estimated_cost": NUM}),
    "LiveGame": LIVE_GAME,
    "BoardState": BOARD_STATE,
    "Thoughts": THOUGHTS,
    "LiveGameDetail": LIVE_GAME_DETAIL,
    "Totals": TOTALS,
    "ModelGame": MODEL_GAME,
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON body.",
        401: "Credentials needed: a bearer token (writes), or a login when a password is set.",
        403: "Writes are disabled (no SNAKEBENCH_API_TOKEN on the server).",
        404: "No such game, model or batch.",
        422: "A field or parameter is invalid; error.field names it.",
        503: "Redis is unreachable; nothing was enqueued.",
    }
    return {str(code): _json(_ref("Error"), reasons[code]) for code in codes}


def _query(name: str) -> list[dict[str, Any]]:
    return [
        {"name": param.name, "in": "query", "required": False, "schema": param.schema()}
        for param in QUERIES[name]
    ]


def _path(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _get(summary: str, ok: dict[str, Any], params: list[dict[str, Any]], *errors: int) -> Any:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {"200": _json(ok, "OK"), **_errors(401, *errors)},
        }
    }


def _batches_path() -> dict[str, Any]:
    path: dict[str, Any] = _get("Batches, newest first.", _array("Batch"), _query("batches"), 422)
    path["post"] = {
        "summary": "Submit a batch: write its games, then enqueue them.",
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("BatchRequest")}},
        },
        "responses": {
            "201": _json(_ref("BatchCreated"), "Written and enqueued."),
            **_errors(400, 401, 403, 422, 503),
        },
    }
    return path


# --- the original SnakeBench's read API, under /original (snakebench.web.original_api) ---

ORIGINAL_QUERIES: dict[str, tuple[Param, ...]] = {
    "models": (Param("active_only", "boolean", default=False),),
    "games": (
        Param("limit", "integer", minimum=1, maximum=MAX_LIMIT, default=10),
        Param("offset", "integer", minimum=0, maximum=MAX_PAGE, default=0),
        Param("sort_by", "string", enum=GAME_SORTS, default="start_time",
              description="Newest start, most apples in all, or most rounds first."),
    ),
    "stats": (
        Param("simple", "boolean", default=False, description="Every model's summary."),
        Param("model", "string", max_length=MAX_NAME_LENGTH,
              description="One model with its newest 100 games (without simple)."),
    ),
}  # fmt: skip
NUM_MAP = {"type": "object", "additionalProperties": NUM}
ORIGINAL_COUNTS = {
    "wins": INT, "losses": INT, "ties": INT, "apples_eaten": INT, "games_played": INT,
}  # fmt: skip
ORIGINAL_RATINGS = {
    "elo": NUM, "elo_rating": NUM, "rating": NUM, "trueskill_mu": NUM,
    "trueskill_sigma": NUM, "trueskill_exposed": NUM,
}  # fmt: skip
ORIGINAL_MODEL = _object(
    {
        "id": INT, "name": STR, "provider": STR, "model_slug": STR, "model_name": STR,
        "is_active": BOOL, "test_status": STR, "elo_rating": NUM, "trueskill_mu": NUM,
        "trueskill_sigma": NUM, "trueskill_exposed": NUM, **ORIGINAL_COUNTS,
        "pricing_input": NUM, "pricing_output": NUM, "max_completion_tokens": NULL_INT,
        "last_played_at": NULL_STR, "discovered_at": STR,
    }
)  # fmt: skip
ORIGINAL_AGGREGATE = _object(
    {"elo_rating": NUM, **ORIGINAL_COUNTS, "provider": STR, "test_status": STR, "is_active": BOOL}
)
ORIGINAL_MODELS = _object(
    {
        "totalGames": INT,
        "models": {"type": "array", "items": _ref("OriginalModel")},
        "aggregatedData": {"type": "object", "additionalProperties": ORIGINAL_AGGREGATE},
    }
)
ORIGINAL_MODEL_DETAIL = _object(
    {
        "totalGames": INT,
        "model": _ref("OriginalModel"),
        "aggregatedData": {"type": "object", "additionalProperties": ORIGINAL_AGGREGATE},
    }
)
ORIGINAL_PARTICIPANT = _object(
    {
        "model_name": STR, "provider": STR, "player_slot": INT, "score": INT,
        "result": RESULT, "death_round": NULL_INT, "death_reason": NULL_STR,
    }
)  # fmt: skip
ORIGINAL_GAMES = _object(
    {
        "games": {
            "type": "array",
            "items": _object(
                {
                    "game_id": STR, "start_time": STR, "end_time": NULL_STR, "rounds": INT,
                    "replay_url": STR, "board_width": INT, "board_height": INT,
                    "total_score": INT, "total_cost": NUM,
                    "participants": {"type": "array", "items": ORIGINAL_PARTICIPANT},
                }
            ),
        }
    }
)  # fmt: skip
ORIGINAL_TOP_MATCH = _object(
    {
        "game_id": STR, "total_apples": INT, "rounds": INT, "start_time": STR,
        "end_time": NULL_STR, "board_width": INT, "board_height": INT,
    }
)  # fmt: skip
ORIGINAL_MODEL_GAME = {
    "type": "object",
    "required": [
        "game_id", "start_time", "end_time", "my_score", "result", "cost",
        "opponent_score", "opponent_model", "opponent_elo",
    ],
    "properties": {
        "game_id": STR, "start_time": NULL_STR, "end_time": NULL_STR, "my_score": INT,
        "result": RESULT, "cost": NUM, "opponent_score": INT, "opponent_model": STR,
        "opponent_elo": NUM,
        "death_info": _object({"reason": NULL_STR, "round": INT}),
    },
    "additionalProperties": False,
    "description": "death_info only when the model lost and its death round is known.",
}  # fmt: skip
ORIGINAL_STATS_ENTRY = {
    "type": "object",
    "required": [*ORIGINAL_RATINGS, *ORIGINAL_COUNTS, "total_cost"],
    "properties": {
        **ORIGINAL_RATINGS, **ORIGINAL_COUNTS, "total_cost": NUM, "top_score": INT,
        "first_game_time": STR, "last_game_time": NULL_STR,
        "games": {"type": "array", "items": ORIGINAL_MODEL_GAME},
    },
    "additionalProperties": False,
    "description": "simple=true: top_score, first_game_time and last_game_time; "
    "model=NAME: games.",
}  # fmt: skip
ORIGINAL_STATS = _object(
    {
        "totalGames": INT,
        "aggregatedData": {"type": "object", "additionalProperties": ORIGINAL_STATS_ENTRY},
    }
)
ORIGINAL_CURRENT_STATE = {
    **_object(
        {
            "round_number": INT,
            "snake_positions": BOARD_STATE["properties"]["snakes"],
            "alive": BOARD_STATE["properties"]["alive"],
            "scores": BOARD_STATE["properties"]["scores"],
            "apples": BOARD_STATE["properties"]["apples"],
            "board_state": STR,
            "move_history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": _object({"move": STR, "rationale": STR}),
                },
            },
            "last_move_time": NULL_NUM,
        }
    ),
    "nullable": True,
}
ORIGINAL_LIVE_PROPERTIES: dict[str, Any] = {
    "id": STR, "status": STR, "start_time": STR, "rounds": INT, "board_width": INT,
    "board_height": INT, "num_apples": INT, "current_state": ORIGINAL_CURRENT_STATE,
    "models": {"type": "object", "additionalProperties": STR},
}  # fmt: skip
ORIGINAL_SCHEMAS: dict[str, Any] = {
    "OriginalError": _object({"error": STR}),
    "OriginalModel": ORIGINAL_MODEL,
    "OriginalModels": ORIGINAL_MODELS,
    "OriginalModelDetail": ORIGINAL_MODEL_DETAIL,
    "OriginalGames": ORIGINAL_GAMES,
    "OriginalTopMatch": ORIGINAL_TOP_MATCH,
    "OriginalStats": ORIGINAL_STATS,
    "OriginalLiveGames": _object(
        {"games": {"type": "array", "items": _object(ORIGINAL_LIVE_PROPERTIES)}, "count": INT}
    ),
    "OriginalLiveGame": _object(
        {**ORIGINAL_LIVE_PROPERTIES, "total_score": NULL_INT, "total_cost": NUM}
    ),
}
SCHEMAS.update(ORIGINAL_SCHEMAS)


def _original_get(summary: str, ok: str, query: str | None, *errors: int) -> dict[str, Any]:
    reasons = {400: "A query parameter is invalid (one line).", 404: "Not found."}
    params = [
        {"name": param.name, "in": "query", "required": False, "schema": param.schema()}
        for param in ORIGINAL_QUERIES.get(query or "", ())
    ]
    responses = {"200": _json(_ref(ok), "OK")}
    responses.update({str(code): _json(_ref("OriginalError"), reasons[code]) for code in errors})
    return {"get": {"summary": summary, "tags": ["original"], "parameters": params,
                    "responses": responses}}  # fmt: skip


def original_paths() -> dict[str, Any]:
    """The original's routes, as served under /original (docs/ORIGINAL_API.md)."""
    prefix = "/original/api"
    paths = {
        "/models": _original_get("Models, best rated first.", "OriginalModels", "models", 400),
        "/models/{name}": _original_get("One model.", "OriginalModelDetail", None, 404),
        "/games": _original_get("Completed games.", "OriginalGames", "games", 400),
        "/matches/top-apples": _original_get(
            "The game with the most apples in all.", "OriginalTopMatch", None, 404
        ),
        "/matches/{match_id}": _original_get("A game's replay.", "Replay", None, 404),
        "/stats": _original_get(
            "Leaderboard or one model's stats.", "OriginalStats", "stats", 400, 404
        ),
        "/games/live": _original_get("Running games.", "OriginalLiveGames", None),
        "/games/{game_id}/live": _original_get("A game's state.", "OriginalLiveGame", None, 404),
    }
    for path, item in paths.items():
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        item["get"]["parameters"] += [param for name in names for param in _path(name)]
    return {prefix + path: item for path, item in paths.items()}


def openapi_document() -> dict[str, Any]:
    """The whole document, as served at ``/api/openapi.json``."""
    paths = {
        "/api/openapi.json": _get("This document.", {"type": "object"}, []),
        "/api/batches": _batches_path(),
        "/api/batches/{batch_id}": _get(
            "One batch, with its failed and void games and those a spending cap cancelled.",
            _ref("BatchDetail"),
            _path("batch_id"),
            404,
        ),
        "/api/games": _get("Games, newest first.", _ref("GamePage"), _query("games"), 422),
        "/api/games/{game_id}": _get("One game.", _ref("GameDetail"), _path("game_id"), 404),
        "/api/games/{game_id}/replay": _get(
            "The game's replay.", _ref("Replay"), _path("game_id"), 404
        ),
        "/api/leaderboard": _get(
            "The leaderboard, best first.",
            _array("LeaderboardRow"),
            _query("leaderboard"),
            422,
        ),
        "/api/models/{name}": _get("One model.", _ref("ModelDetail"), _path("name"), 404),
        "/api/live": _get(
            "Running games and their boards.", _array("LiveGame"), _query("live"), 422
        ),
        "/api/live/{game_id}": _get(
            "One game as its live page follows it: board and each player's latest thoughts.",
            _ref("LiveGameDetail"),
            _path("game_id"),
            404,
        ),
        "/api/totals": _get(
            "Site-wide totals: completed games, models, top score, total cost, and the "
            "top-apples match (most apples eaten in all).",
            _ref("Totals"),
            [],
        ),
    }
    paths.update(original_paths())
    return {
        "openapi": "3.0.3",
        "info": {"title": "SnakeBench API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
