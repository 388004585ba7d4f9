"""``snakebench games undo|restore`` and ``snakebench audit``: taking a game out of the
ratings without retiring anyone, and the log of who did it, when and why."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from snakebench.cli.app import App, print_table
from snakebench.cli.terminal import SafeConsole, one_line, safe_text
from snakebench.services.undo import UndoOutcome, audit_log, restore_game, undo_game
from snakebench.store import open_store

app = App(help="Undo a game (out of every rating and count) or restore it.")
out = SafeConsole(soft_wrap=True)

Reason = Annotated[str, typer.Option("--reason", help="Why: kept in the audit log.")]
By = Annotated[
    str | None,
    typer.Option("--by", help="Who, for the audit log; default: your login name ($USER)."),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the rating changes; write nothing.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def actor(by: str | None) -> str:
    """Who does it: ``--by``, else the login name (``$LOGNAME``, ``$USER``...)."""
    if by is not None:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@app.command("undo")
def undo(
    game_id: Annotated[str, typer.Argument(help="A completed game's id.")],
    reason: Reason,
    by: By = None,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> None:
    """Undo a game: it stays stored, marked undone, and counts nowhere.

    Every rating is rebuilt without it (the ratings rebuild's replay, in the original
    order), so the ratings from that game on are as if it had never been played. Each
    undo writes an audit row; `snakebench games restore ID` reverses it.

    Example: snakebench games undo 3f2c... --reason "provider outage mid-game" --dry-run
    """
    open_store()
    outcome = undo_game(game_id, reason=reason, actor=actor(by), dry_run=dry_run)
    report(outcome, as_json)


@app.command("restore")
def restore(
    game_id: Annotated[str, typer.Argument(help="An undone game's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in the audit log.")] = "",
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Restore an undone game: it counts again, and the ratings are rebuilt with it."""
    open_store()
    report(restore_game(game_id, reason=reason, actor=actor(by)), as_json)


def report(outcome: UndoOutcome, as_json: bool) -> None:
    """Print what an undo, restore or reset did (or would do), or its JSON."""
    if as_json:
        typer.echo(json.dumps(outcome.to_dict(), indent=2))
        return
    what = {"undo-game": "undo game", "restore-game": "restore game"}.get(
        outcome.action, "reset the evaluation of"
    )
    games = len(outcome.games)
    if outcome.dry_run:
        out.print(safe_text(f"dry run: would {what} {outcome.subject} ({games} game(s)); "
                            "nothing written"))  # fmt: skip
    else:
        out.print(
            safe_text(
                f"{what} {outcome.subject}: done ({games} game(s), audit #{outcome.entry_id}); "
                f"ratings rebuilt from {outcome.rated_games} rated games"
            )
        )
    if not outcome.deltas:
        out.print("no rating changes")
        return
    table = Table("model", "mu", "sigma", "rating (mu - 3 sigma)", "change")
    for d in outcome.deltas:
        table.add_row(
            safe_text(d.model),
            f"{d.mu_before:.3f} -> {d.mu_after:.3f}",
            f"{d.sigma_before:.3f} -> {d.sigma_after:.3f}",
            f"{d.rating_before:.3f} -> {d.rating_after:.3f}",
            f"{d.rating_after - d.rating_before:+.3f}",
        )
    print_table(out, table)


def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Rows to show.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The audit log, newest first: undone and restored games, evaluation resets."""
    open_store()
    rows = audit_log(limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("the audit log is empty")
        return
    table = Table("#", "at (UTC)", "by", "action", "subject", "games", "reason")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["at"][:19].replace("T", " "),
            safe_text(one_line(row["actor"])),
            row["action"],
            safe_text(f"{row['subject_kind']} {row['subject_id']}"),
            str(row["game_count"]),
            safe_text(one_line(row["reason"], 80)),
        )
    print_table(out, table)
