"""``snakebench report`` on real bot games: the CSV parses and ranks what the database
holds, the Markdown has the original's sections, the period filters, and bad
arguments are one line and exit 2."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from snakebench.services.game_report import BEST_SCORE, CSV_FIELDS, WORST_SCORE
from snakebench.store import Game, Model, Participant, utcnow

from ..conftest import OneLineError
from .conftest import Invoke

SECTIONS = [
    "Most expensive games",
    "Longest games (rounds)",
    "Highest-scoring games (max apples)",
    "Longest-running games (wall time)",
    f"Best games (>= {BEST_SCORE} apples)",
    f"Worst games (<= {WORST_SCORE} apple)",
]


@dataclass(frozen=True)
class Played:
    cost: float
    rounds: int
    max_score: int
    days: int  # started this many days (and an hour) ago
    seconds: float  # from start to end


@pytest.fixture
def played(cli: Invoke) -> dict[str, Played]:
    """Eight bot games; each given a cost, a start (game i started i days ago) and a
    wall time, so every section has an order to check. Returns them by id."""
    for a, b in (("greedy", "random"), ("survivor", "greedy")):
        result = cli("dispatch", "--model-a", a, "--model-b", b, "--count", "4",
                     "--seed", "3", "--max-rounds", "60", "--sync")  # fmt: skip
        assert result.exit_code == 0, result.output
    now = utcnow()
    games: dict[str, Played] = {}
    for i, game in enumerate(Game.select().order_by(Game.id)):
        started = now - timedelta(days=i, hours=1)
        cost = round(0.01 * ((i * 3) % 8 + 1), 4)
        Game.update(total_cost=cost, started_at=started,
                    ended_at=started + timedelta(seconds=10 * ((i * 5) % 8) + 1)).where(
            Game.id == game.id).execute()  # fmt: skip
        scores = [p.score for p in Participant.select().where(Participant.game == game.id)]
        games[game.id] = Played(cost, game.rounds, max(scores), i, 10.0 * ((i * 5) % 8) + 1)
    return games


def _csv(cli: Invoke, *args: str) -> list[dict[str, str]]:
    result = cli("report", "--format", "csv", *args)
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == CSV_FIELDS
    return list(reader)


def _section(rows: list[dict[str, str]], title: str) -> list[dict[str, str]]:
    chosen = [row for row in rows if row["section"] == title]
    assert [int(row["rank"]) for row in chosen] == list(range(1, len(chosen) + 1))
    return chosen


def test_csv_ranks_the_games_the_database_holds(cli: Invoke, played: dict[str, Played]) -> None:
    rows = _csv(cli, "--limit", "3")
    assert {row["section"] for row in rows} <= set(SECTIONS)
    expensive = _section(rows, SECTIONS[0])
    costs = sorted((g.cost for g in played.values()), reverse=True)[:3]
    assert [float(row["total_cost"]) for row in expensive] == costs
    for row in rows:
        game = played[row["game_id"]]
        assert int(row["rounds"]) == game.rounds and int(row["max_score"]) == game.max_score
        assert float(row["duration_seconds"]) == game.seconds
    longest = _section(rows, SECTIONS[1])
    rounds = sorted((g.rounds for g in played.values()), reverse=True)[:3]
    assert [int(row["rounds"]) for row in longest] == rounds
    running = _section(rows, SECTIONS[3])
    seconds = sorted((g.seconds for g in played.values()), reverse=True)[:3]
    assert [float(row["duration_seconds"]) for row in running] == seconds
    best = _section(rows, SECTIONS[4])
    assert all(int(row["max_score"]) >= BEST_SCORE for row in best)
    assert len(best) == min(3, sum(1 for g in played.values() if g.max_score >= BEST_SCORE))


def test_markdown_has_every_section_in_order(cli: Invoke, played: dict[str, Played]) -> None:
    result = cli("report", "--limit", "2")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# SnakeBench games report")
    assert f"{len(played)} completed games, all time." in text
    positions = [text.index(f"## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)
    top = max(played, key=lambda gid: played[gid].cost)
    expensive = text[positions[0] : positions[1]]
    assert f"\n| 1 | `{top}` |" in expensive
    assert expensive.count("\n| 1 |") == 1 and expensive.count("\n| 2 |") == 1
    assert "\n| 3 |" not in expensive


def test_the_period_filters_by_start(cli: Invoke, played: dict[str, Played]) -> None:
    recent = {gid for gid, g in played.items() if g.days < 3}
    rows = _csv(cli, "--days", "3", "--limit", "100")
    assert {row["game_id"] for row in rows} == recent
    since = (utcnow() - timedelta(days=3)).date().isoformat()
    rows = _csv(cli, "--since", since, "--limit", "100")
    assert {row["game_id"] for row in rows} >= recent
    assert len({row["game_id"] for row in rows}) <= 4
    empty = cli("report", "--since", "2999-01-01")
    assert (
        empty.exit_code == 0 and "0 completed games, since 2999-01-01 00:00:00 UTC" in empty.stdout
    )
    assert empty.stdout.count("No games.") == len(SECTIONS)


def test_out_writes_the_file(cli: Invoke, played: dict[str, Played], workdir: Path) -> None:
    result = cli("report", "--format", "csv", "--out", "week.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report written to {Path('week.csv')}"
    written = list(csv.DictReader((workdir / "week.csv").open(encoding="utf-8")))
    assert written == _csv(cli)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--since", "last tuesday"], "--since must be a date"),
        (["--since", "2026-01-01", "--days", "3"], "choose one of --since and --days"),
        (["--out", "."], "is a directory"),
        (["--out", "no/such/folder/r.md"], "cannot write"),
    ],
)
def test_bad_arguments_are_one_line(
    cli: Invoke, one_line_error: OneLineError, args: list[str], fragment: str
) -> None:
    one_line_error(cli("report", *args), fragment)


def test_an_unknown_format_is_a_usage_error(cli: Invoke) -> None:
    result = cli("report", "--format", "xml")
    assert result.exit_code == 2
    assert "markdown, csv" in result.output and "Traceback" not in result.output


def test_a_hostile_model_name_stays_in_its_cell(cli: Invoke, played: dict[str, Played]) -> None:
    Model.update(name="evil | name\n\x1b[2Jx").where(Model.name == "random").execute()
    result = cli("report", "--limit", "100")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "`" in line]
    assert rows and all(line.count(" | ") == 8 for line in rows)  # nine cells each
    assert any("evil \\| name [2Jx" in line for line in rows)
    parsed = _csv(cli, "--limit", "100")  # quoted by csv; the escape dropped on stdout
    assert any("evil | name\n[2Jx" in row["models"] for row in parsed)
    assert cli("report", "--format", "csv", "--out", "r.csv").exit_code == 0
    with open("r.csv", encoding="utf-8", newline="") as file:  # a file keeps the name whole
        assert any("evil | name\n\x1b[2Jx" in row["models"] for row in csv.DictReader(file))
