"""``snakebench replay``: check replay files against the rules, and watch them."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snakebench.cli.app import App, err
from snakebench.cli.terminal import SafeConsole, frame_view
from snakebench.engine.replay import Replay, ReplayFormatError, board_positions, read_replay
from snakebench.engine.verify import verify_replay
from snakebench.games.videos import stored_replay
from snakebench.store import open_store
from snakebench.video import DEFAULT_FPS, MAX_FPS, VIDEO_FORMATS, render_video

app = App(help="Verify replay files against the rules, play them in the terminal, or film them.")
out = SafeConsole(soft_wrap=True)


@app.command()
def verify(
    files: Annotated[list[Path], typer.Argument(help="Replay JSON files.", show_default=False)],
    double_death: Annotated[
        str,
        typer.Option(
            help="How double deaths were scored: 'auto' reads it from the file (games "
            "before 2025-12-12 tied every double death), or force 'score' / 'tie'."
        ),
    ] = "auto",
) -> None:
    """Re-simulate each FILE from its recorded moves and apple spawns.

    Prints ok or the first mismatch (frame, field, expected by the rules,
    found in the file), each followed by the rule variants inferred from the file
    (the original's games played on past 30 apples until January 2026, and tied
    every double death until 2025-12-12). Exit status: 0 all ok, 1 a mismatch,
    2 an unreadable file.
    """
    if double_death not in ("auto", "score", "tie"):
        raise typer.BadParameter("must be auto, score or tie", param_hint="--double-death")
    counts = {"ok": 0, "mismatch": 0, "unreadable": 0}
    for path in files:
        try:
            replay = read_replay(path)
        except ReplayFormatError as exc:
            err.print(f"{path}: unreadable: {exc}")
            counts["unreadable"] += 1
            continue
        if double_death != "auto":
            replay = _with_double_death(replay, double_death)
        try:
            mismatch = verify_replay(replay)
        except Exception as exc:  # a file no check foresaw must not stop the others
            err.print(f"{path}: unreadable: cannot verify ({type(exc).__name__}: {exc})")
            counts["unreadable"] += 1
            continue
        inferred = "".join(f" (rule variant inferred: {v})" for v in replay.variants)
        if mismatch is None:
            out.print(f"{path}: ok{inferred}")
            counts["ok"] += 1
        else:
            out.print(f"{path}: mismatch at {mismatch}{inferred}")
            counts["mismatch"] += 1
    if len(files) > 1:
        out.print(", ".join(f"{n} {k}" for k, n in counts.items()) + f" of {len(files)} files")
    if counts["unreadable"]:
        raise typer.Exit(2)
    if counts["mismatch"]:
        raise typer.Exit(1)


def _with_double_death(replay: Replay, policy: str) -> Replay:
    """The replay under a forced policy, which is then no longer an inference."""
    variants = tuple(v for v in replay.variants if v.rule != "double_death")
    rules = replace(replay.rules, double_death=policy)  # type: ignore[arg-type]
    return replace(replay, rules=rules, variants=variants)


@app.command()
def show(
    file: Annotated[Path, typer.Argument(help="A replay JSON file.", show_default=False)],
    delay: Annotated[
        float, typer.Option(min=0, help="Seconds between rounds (0: print every frame).")
    ] = 0.5,
    start: Annotated[int, typer.Option(min=0, help="First round to show.")] = 0,
) -> None:
    """Play FILE in the terminal: the board, each snake's move and its rationale."""
    replay = read_replay(file)
    names = {sid: str(p.get("name") or sid) for sid, p in replay.players.items()}
    frames = board_positions(replay)[start:]
    if not frames:
        raise typer.BadParameter(
            f"the replay has {replay.rounds_played} rounds", param_hint="--start"
        )
    views = [frame_view(state, replay.rules, names, moves) for state, moves in frames]
    if delay == 0 or not out.is_terminal:
        for view in views:
            out.print(view)
        return
    with Live(views[0], console=out, auto_refresh=False) as live:
        for view in views[1:]:
            time.sleep(delay)
            live.update(view, refresh=True)


@app.command()
def video(
    source: Annotated[
        str,
        typer.Argument(
            metavar="ID|FILE",
            help="A stored game's id, or a replay JSON file.",
            show_default=False,
        ),
    ],
    video_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(VIDEO_FORMATS)}.")
    ] = "mp4",
    fps: Annotated[
        int, typer.Option(min=1, max=MAX_FPS, help="Rounds shown per second.")
    ] = DEFAULT_FPS,
    width: Annotated[
        int | None,
        typer.Option(help="Frame width in pixels (320 to 3840); the board fills it."),
    ] = None,
    scale: Annotated[
        int | None, typer.Option(min=4, help="Pixels per board cell (default 32).")
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write (default: the replay's name, in .)."),
    ] = None,
) -> None:
    """Render a game to a video: the board, both models' names and scores, the round,
    and each round's rationale excerpt. MP4 (H.264) for sharing, an animated GIF or
    WebP for chats. Each round shows 1/FPS seconds; the final board one second more."""
    if video_format not in VIDEO_FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(VIDEO_FORMATS)}",
                                 param_hint="--format")  # fmt: skip
    if width is not None and scale is not None:
        raise typer.BadParameter("give --width or --scale, not both", param_hint="--width")
    replay, stem = _video_source(source)
    target = out_path or Path(f"{stem}.{video_format}")
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("frames", total=None)
        written = render_video(
            replay, target, video_format=video_format, fps=fps,
            width=width, scale=scale,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    out.print(f"{written}: {replay.rounds_played} rounds at {fps} fps")


def _video_source(source: str) -> tuple[Replay, str]:
    """The replay of a file that exists, else of the stored game with that id."""
    path = Path(source)
    if path.is_file() or source.endswith(".json"):
        return read_replay(path), path.stem
    open_store()
    replay, stored = stored_replay(source)
    return replay, stored.stem
