"""The games report (``snakebench report``): the most expensive, longest, highest-scoring,
longest-running, best and worst games over a period, as the original's analysis of its
local games prints them (``backend/cli/analyze_local_games.py``: top N per metric,
"pro matches" at 25 apples or more, "worst matches" at one apple or fewer).

Here the games are the database's completed games (void, failed and cancelled ones
decided nothing), those started at or after ``since``. Each section lists its top
``limit`` games; ties are broken by start time, then game id, so a report is stable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from snakebench.store import utcnow
from snakebench.store.highlight_queries import ReportGame, completed_games_since

BEST_SCORE = 25  # the original's "pro match": a snake ate this many apples or more
WORST_SCORE = 1  # the original's "worst match": no snake ate more than this
FORMATS = ("markdown", "csv")
CSV_FIELDS = (
    "section", "rank", "game_id", "models", "winner", "rounds", "max_rounds", "max_score",
    "sum_scores", "total_cost", "duration_seconds", "started_at",
)  # fmt: skip


class ReportError(ValueError):
    """A report that cannot be made as asked (an unknown format, a limit below 1)."""


@dataclass(frozen=True)
class GameLine:
    """One game's numbers, as every section shows them."""

    game_id: str
    models: tuple[str, ...]
    winner: str | None  # None: a tie
    rounds: int
    max_rounds: int
    max_score: int
    sum_scores: int
    total_cost: float
    duration_seconds: float | None  # None: no start or end recorded
    started_at: datetime | None

    @classmethod
    def of(cls, game: ReportGame) -> GameLine:
        scores = [p.score for p in game.players]
        winners = [p.model for p in game.players if p.result == "won"]
        duration = None
        if game.started_at is not None and game.ended_at is not None:
            duration = max(0.0, (game.ended_at - game.started_at).total_seconds())
        return cls(
            game_id=game.game_id,
            models=tuple(p.model for p in game.players),
            winner=winners[0] if len(winners) == 1 else None,
            rounds=game.rounds,
            max_rounds=game.max_rounds,
            max_score=max(scores, default=0),
            sum_scores=sum(scores),
            total_cost=game.total_cost,
            duration_seconds=duration,
            started_at=game.started_at,
        )


@dataclass(frozen=True)
class Section:
    title: str
    by: str  # what it is ordered by, in words
    games: tuple[GameLine, ...]


@dataclass(frozen=True)
class GameReport:
    since: datetime | None
    generated_at: datetime
    games: int  # completed games in the period
    limit: int
    sections: tuple[Section, ...]


def _stable(line: GameLine) -> tuple[datetime, str]:
    return (line.started_at or datetime.min, line.game_id)


def _top(
    lines: Sequence[GameLine], key: Callable[[GameLine], float], limit: int, *, lowest: bool = False
) -> tuple[GameLine, ...]:
    ordered = sorted(lines, key=_stable)  # the tie-break, kept by the stable sort below
    return tuple(sorted(ordered, key=key, reverse=not lowest)[:limit])


def _duration(line: GameLine) -> float:
    return -1.0 if line.duration_seconds is None else line.duration_seconds


def game_report(
    *, since: datetime | None, limit: int = 10, now: datetime | None = None
) -> GameReport:
    """The report over the completed games started at or after ``since`` (naive UTC;
    None: every game), ``limit`` games per section."""
    if limit < 1:
        raise ReportError(f"limit must be at least 1, got {limit}")
    lines = [GameLine.of(game) for game in completed_games_since(since)]
    best = [line for line in lines if line.max_score >= BEST_SCORE]
    worst = [line for line in lines if line.max_score <= WORST_SCORE]
    sections = (
        Section("Most expensive games", "total cost",
                _top(lines, lambda g: g.total_cost, limit)),
        Section("Longest games (rounds)", "rounds played", _top(lines, lambda g: g.rounds, limit)),
        Section("Highest-scoring games (max apples)", "the higher score",
                _top(lines, lambda g: g.max_score, limit)),
        Section("Longest-running games (wall time)", "seconds from start to end",
                _top([g for g in lines if g.duration_seconds is not None], _duration, limit)),
        Section(f"Best games (>= {BEST_SCORE} apples)", "the higher score",
                _top(best, lambda g: g.max_score, limit)),
        Section(f"Worst games (<= {WORST_SCORE} apple)", "the higher score, lowest first",
                _top(worst, lambda g: g.max_score, limit, lowest=True)),
    )  # fmt: skip
    return GameReport(
        since=since,
        generated_at=now or utcnow(),
        games=len(lines),
        limit=limit,
        sections=sections,
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ", timespec="seconds")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no column breaks."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(report: GameReport) -> str:
    """The report as the original's Markdown: a heading, then one table per section."""
    period = f"since {_when(report.since)} UTC" if report.since else "all time"
    lines = [
        "# SnakeBench games report",
        "",
        f"{report.games} completed games, {period}. Generated {_when(report.generated_at)} UTC.",
        "",
    ]
    for section in report.sections:
        lines += [f"## {section.title}", "", f"Top {report.limit} by {section.by}.", ""]
        if not section.games:
            lines += ["No games.", ""]
            continue
        lines += [
            "| # | Game | Models | Winner | Rounds | Max score | Sum of scores | Cost | Duration |",
            "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for rank, g in enumerate(section.games, 1):
            models = _cell(" vs ".join(g.models))
            winner = _cell(g.winner) if g.winner else "tie"
            duration = "-" if g.duration_seconds is None else f"{g.duration_seconds:.1f} s"
            lines.append(
                f"| {rank} | `{g.game_id}` | {models} | {winner} | {g.rounds}/{g.max_rounds} "
                f"| {g.max_score} | {g.sum_scores} | ${g.total_cost:.4f} | {duration} |"
            )
        lines.append("")
    return "\n".join(lines)


def to_csv(report: GameReport) -> str:
    """The report as CSV: a header, then one row per (section, rank), so a
    spreadsheet filters by section."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for section in report.sections:
        for rank, g in enumerate(section.games, 1):
            writer.writerow(
                (
                    section.title, rank, g.game_id, "; ".join(g.models), g.winner or "",
                    g.rounds, g.max_rounds, g.max_score, g.sum_scores, f"{g.total_cost:.6f}",
                    _seconds(g.duration_seconds), _when(g.started_at),
                )
            )  # fmt: skip
    return buffer.getvalue()


def render(report: GameReport, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return to_markdown(report) if fmt == "markdown" else to_csv(report)
