"""The HTML pages: leaderboard, models, games and the replay viewer, live boards,
batches. Server-rendered with Jinja (autoescaped); the browser side is plain
JavaScript from ``static/`` (``board.js`` draws boards for the viewer and the live
page). Every number comes from :mod:`snakebench.web.data`, the same read functions
the JSON API serves, so a page and ``/api`` never disagree.

Model text (names, rationales, errors) is only ever inserted escaped: by Jinja's
autoescape in templates, as ``|tojson`` inside ``<script type="application/json">``
(which escapes ``<``, ``>`` and ``&``), and with ``textContent`` in the scripts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from snakebench import __version__
from snakebench.engine.replay import ReplayFormatError, parse_replay
from snakebench.services.leaderboard import METHODS
from snakebench.store import GAME_STATUSES, NOT_READY_ERRORS
from snakebench.store.models import RESULTS
from snakebench.web import data
from snakebench.web.videos import video_offered

blueprint = Blueprint("pages", __name__, template_folder="templates")

PER_PAGE = 50
LABEL_CHARS = 32  # model names longer than this are cut in chart labels (full in a tooltip)


class PageArgumentError(ValueError):
    """A query-string value a page cannot use (shown on the page with a 400)."""


# --- template helpers ------------------------------------------------------------------


@blueprint.app_context_processor
def _globals() -> dict[str, Any]:
    return {"version": __version__, "nav_active": _nav_section()}


def _nav_section() -> str:
    endpoint = request.endpoint or ""
    for section in ("leaderboard", "model", "games", "game", "live", "batches", "batch",
                    "live_game"):  # fmt: skip
        if endpoint == f"pages.{section}":
            return {"model": "leaderboard", "game": "games", "batch": "batches",
                    "live_game": "live"}.get(section, section)  # fmt: skip
    return ""


@blueprint.app_template_filter("money")
def money(value: float | None, digits: int = 4) -> str:
    """Dollars: ``$0.0123``; ``-`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"${value:,.{digits}f}"


@blueprint.app_template_filter("pct")
def pct(value: float | None, digits: int = 1) -> str:
    """A rate in [0, 1] as a percentage."""
    if value is None:
        return "-"
    return f"{100 * value:.{digits}f}%"


@blueprint.app_template_filter("num")
def num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


@blueprint.app_template_filter("when")
def when(value: str | None) -> str:
    """An ISO 8601 UTC timestamp as ``2025-01-31 12:34:56`` (always UTC)."""
    if not value:
        return "-"
    return str(value)[:19].replace("T", " ")


@blueprint.app_template_filter("short")
def short(value: str | None, length: int = 8) -> str:
    return "" if value is None else str(value)[:length]


@blueprint.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    """Wall time: ``42.3 s``, ``12 min 5 s``, ``2 h 3 min``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


@blueprint.app_template_filter("ratio")
def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


# --- pages ------------------------------------------------------------------------------


@blueprint.get("/")
def leaderboard() -> tuple[str, int]:
    method = request.args.get("method", "trueskill") or "trueskill"
    prompt_variant = request.args.get("prompt_variant") or None
    error: str | None = None
    notice: str | None = None
    rows: list[dict[str, Any]] = []
    variants: list[str] = []
    totals: dict[str, Any] | None = None
    min_games = 0
    try:
        min_games = _int_arg("min_games", 0, low=0)
        if method not in METHODS:
            raise PageArgumentError(f"method must be one of {', '.join(METHODS)}")
        variants = data.prompt_variant_names()
        rows = data.leaderboard(method=method, min_games=min_games, prompt_variant=prompt_variant)
        totals = data.site_totals()
    except (PageArgumentError, data.InvalidArgument) as exc:
        error = str(exc)
    except NOT_READY_ERRORS as exc:
        # A database not set up yet (no tables): the front page still answers.
        notice = f"The database is not ready ({type(exc).__name__}): run `snakebench db upgrade`."
    return _page(
        "leaderboard.html",
        error,
        rows=rows,
        method=method,
        methods=METHODS,
        min_games=min_games,
        prompt_variant=prompt_variant,
        prompt_variants=variants,
        chart=rating_chart(rows),
        notice=notice,
        totals=totals,
    )


@blueprint.get("/models/<path:name>")
def model(name: str) -> str:
    detail = data.model_detail(name)
    record = detail["record"]
    return render_template(
        "model.html",
        detail=detail,
        m=detail["model"],
        record=record,
        invalid_rate=ratio(record["invalid_moves"], record["moves"]),
        fallback_rate=ratio(record["fallback_parses"], record["moves"]),
        win_rate=ratio(record["wins"] + 0.5 * record["ties"], record["games"]),
        chart=history_chart(detail["rating_history"]),
        resets=data.evaluation_resets(detail["model"]["name"]),
    )


@blueprint.get("/games")
def games() -> tuple[str, int]:
    filters = {
        key: (request.args.get(key) or "").strip() or None
        for key in ("model", "batch", "status", "result")
    }
    error: str | None = None
    listing: dict[str, Any] = {"games": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    try:
        page = _int_arg("page", 1, low=1, high=data.MAX_PAGE)
        listing = data.list_games(**filters, page=page, per_page=PER_PAGE)
    except (PageArgumentError, data.InvalidArgument) as exc:
        error = str(exc)
    pages = max(1, math.ceil(listing["total"] / listing["per_page"]))
    return _page(
        "games.html",
        error,
        listing=listing,
        filters=filters,
        query={k: v for k, v in filters.items() if v is not None},
        statuses=GAME_STATUSES,
        results=RESULTS,
        pages=pages,
    )


@blueprint.get("/games/<game_id>")
def game(game_id: str) -> str:
    detail = data.game_detail(game_id)
    replay: dict[str, Any] | None = None
    positions = 0
    if detail["replay_available"]:
        try:
            replay = data.game_replay(game_id)
            positions = parse_replay(replay).rounds_played  # the scrub's last position
        except (data.ReplayUnavailableError, ReplayFormatError):
            replay = None
    return render_template(
        "game.html",
        g=detail,
        replay=replay,
        positions=positions,
        events=death_events(replay, detail),
        undone=data.game_undone(game_id),
        video_offered=replay is not None and video_offered(game_id),
    )


@blueprint.get("/live")
def live() -> str:
    return render_template("live.html", games=data.live_games())


@blueprint.get("/live/<game_id>")
def live_game(game_id: str) -> str | Response:
    """One game as it is played, with its players' thoughts; a game already over goes
    to its replay."""
    detail = data.live_game(game_id)
    if detail["finished"]:
        return redirect(url_for("pages.game", game_id=game_id))
    return render_template("live_game.html", g=detail)


@blueprint.get("/batches")
def batches() -> str:
    return render_template("batches.html", batches=data.list_batches())


@blueprint.get("/batches/<batch_id>")
def batch(batch_id: str) -> str:
    return render_template("batch.html", b=data.batch_detail(batch_id))


@blueprint.get("/audit")
def audit() -> str:
    """Who undid or restored which game, and reset which evaluation: when and why."""
    return render_template("audit.html", entries=data.audit_entries(), nav_active="audit")


# --- errors -----------------------------------------------------------------------------


@blueprint.errorhandler(LookupError)
def _unknown(exc: LookupError) -> tuple[str, int]:
    message = exc.args[0] if exc.args else "not found"
    return render_template("404.html", message=str(message)), 404


@blueprint.app_errorhandler(404)
def _not_found(exc: HTTPException) -> HTTPException | tuple[str, int]:
    """An HTML 404 page for unknown pages; the API and the dashboard keep their own."""
    if request.path.startswith(("/api/", "/rq/")) or request.path in ("/api", "/rq"):
        return exc
    return render_template("404.html", message=f"No page at {request.path}"), 404


def _page(template: str, error: str | None, **context: Any) -> tuple[str, int]:
    """The page with its ``error`` (a bad query string: status 400) shown, if any."""
    return render_template(template, error=error, **context), 400 if error else 200


def _int_arg(name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PageArgumentError(f"{name} must be an integer") from None
    if value < low:
        raise PageArgumentError(f"{name} must be at least {low}")
    if high is not None and value > high:
        raise PageArgumentError(f"{name} must be at most {high}")
    return value


# --- what the templates draw ------------------------------------------------------------


def death_events(
    replay: Mapping[str, Any] | None, detail: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Every death in the game, in round order: ``{round, slot, model, reason}``.

    From the replay's frame events when it has them, else from its players' ``death``
    entries or ``metadata.death_info``, else from the stored participants.
    """
    names = {str(p["slot"]): p["model"] for p in detail.get("participants", [])}
    found: dict[str, dict[str, Any]] = {}

    def add(slot: Any, reason: Any, round_index: Any) -> None:
        key = str(slot)
        if key in found:
            return
        found[key] = {
            "slot": key,
            "model": names.get(key, f"snake {key}"),
            "reason": str(reason or "death"),
            "round": round_index,
        }

    if replay:
        for index, frame in enumerate(replay.get("frames") or []):
            for event in frame.get("events") or []:
                if isinstance(event, Mapping) and event.get("type") == "death":
                    add(event.get("player_id"), event.get("reason"), frame.get("round", index))
        for slot, player in (replay.get("players") or {}).items():
            death = player.get("death") if isinstance(player, Mapping) else None
            if isinstance(death, Mapping):
                add(slot, death.get("reason"), death.get("round"))
        metadata = replay.get("metadata") or {}
        info = metadata.get("death_info") if isinstance(metadata, Mapping) else None
        if isinstance(info, Mapping):
            for slot, death in info.items():
                if isinstance(death, Mapping):
                    add(slot, death.get("reason"), death.get("round"))
    for p in detail.get("participants", []):
        if p.get("death_reason"):
            add(p["slot"], p["death_reason"], p.get("death_round"))
    return sorted(found.values(), key=lambda e: (_round_key(e["round"]), e["slot"]))


def _round_key(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.inf


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def rating_chart(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Geometry of the leaderboard's SVG: one line per model, its interval as a bar and
    its rating as a dot, on a shared horizontal axis."""
    left, right, top, row_h, width = 220, 20, 24, 22, 860
    height = top + row_h * max(len(rows), 1) + 30
    values = [float(v) for r in rows for v in (r["lower"], r["upper"], r["rating"])]
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad

    def x(value: float) -> float:
        return round(left + (value - low) / (high - low) * (width - left - right), 2)

    lines = []
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        lines.append(
            {
                "model": row["model"],
                "label": _label(str(row["model"])),
                "y": y,
                "x_lower": x(float(row["lower"])),
                "x_upper": x(float(row["upper"])),
                "x_rating": x(float(row["rating"])),
                "rating": row["rating"],
                "lower": row["lower"],
                "upper": row["upper"],
            }
        )
    axis_y = top + row_h * max(len(rows), 1) + 4
    ticks = [{"x": x(t), "label": f"{t:g}"} for t in _ticks(low, high)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "axis_y": axis_y,
        "lines": lines,
        "ticks": ticks,
    }


def history_chart(history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Geometry of a model's rating history: the conservative rating (mu - 3 sigma) as a
    line, mu as a dashed line, and a mu +/- 2 sigma band, one point per rated game."""
    width, height, left, right, top, bottom = 860, 260, 56, 16, 14, 30
    n = len(history)
    if n == 0:
        return {"width": width, "height": height, "empty": True, "points": 0}
    lows = [float(h["mu"]) - 2 * float(h["sigma"]) for h in history]
    highs = [float(h["mu"]) + 2 * float(h["sigma"]) for h in history]
    ratings = [float(h["rating"]) for h in history]
    low, high = min(*lows, *ratings), max(*highs, *ratings)
    if high - low < 1e-9:
        low, high = low - 1, high + 1

    def x(i: int) -> float:
        span = width - left - right
        return round(left + (span * i / (n - 1) if n > 1 else span / 2), 2)

    def y(value: float) -> float:
        return round(top + (high - value) / (high - low) * (height - top - bottom), 2)

    band_top = [f"{x(i)},{y(v)}" for i, v in enumerate(highs)]
    band_bottom = [f"{x(i)},{y(v)}" for i, v in reversed(list(enumerate(lows)))]
    return {
        "width": width,
        "height": height,
        "empty": False,
        "points": n,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "band": " ".join(band_top + band_bottom),
        "line": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(ratings)),
        "mu": " ".join(f"{x(i)},{y(float(h['mu']))}" for i, h in enumerate(history)),
        "dots": [
            {"x": x(i), "y": y(float(h["rating"])), "rating": h["rating"], "game_id": h["game_id"]}
            for i, h in enumerate(history)
        ],
        "yticks": [{"y": y(t), "label": f"{t:g}"} for t in _ticks(low, high)],
        "last": history[-1],
    }
