"""Render time of game videos, per game and per frame, by format: the frames drawn
alone (Pillow, the floor every format pays), then MP4 (H.264 through imageio-ffmpeg's
ffmpeg, fed raw RGB on a pipe), animated GIF and animated WebP (Pillow).

    python scripts/bench_video.py [--games 8] [--repeat 3] [--fps 4] [--scale 32]

The games are the original's recorded replays in tests/fixtures/upstream-replays
(10x10 boards, real rationales), longest first. Each figure is the best of
``--repeat`` runs; the files go to a temporary folder and their sizes are reported.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchlib import best_time, host_speed

from snakebench.engine.replay import Replay, board_positions, read_replay
from snakebench.video import VIDEO_FORMATS, render_video
from snakebench.video.frames import painter_for

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "upstream-replays"


def draw_only(replay: Replay, scale: int) -> None:
    painter = painter_for(replay, scale=scale)
    for frame in painter.frames():
        frame.tobytes()  # what the MP4 encoder is handed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=8, help="replays to render")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; best kept")
    parser.add_argument("--fps", type=int, default=4)
    parser.add_argument("--scale", type=int, default=32, help="pixels per board cell")
    args = parser.parse_args()
    replays = sorted((read_replay(p) for p in FIXTURES.glob("*.json")),
                     key=lambda r: -r.rounds_played)[: args.games]  # fmt: skip
    positions = sum(len(board_positions(r)) for r in replays)
    layout = painter_for(replays[0], scale=args.scale).layout
    print(f"{len(replays)} games, {positions} board positions, {layout.width}x{layout.height} "
          f"px frames, {args.fps} fps, best of {args.repeat}; {os.cpu_count()} cores")  # fmt: skip
    print(host_speed())
    print(f"{'variant':<28}{'s total':>9}{'s/game':>9}{'ms/frame':>10}{'KB/game':>10}")
    names = ["frames drawn only (floor)", *VIDEO_FORMATS]
    totals, sizes = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0)
    with tempfile.TemporaryDirectory() as folder:
        # Game by game, every variant in turn: drifting load on a shared host then
        # slows all of them alike instead of whichever ran last.
        for i, replay in enumerate(replays):
            totals[names[0]] += best_time(lambda r=replay: draw_only(r, args.scale), args.repeat)
            for fmt in VIDEO_FORMATS:
                out = Path(folder) / f"{i}.{fmt}"
                totals[fmt] += best_time(lambda r=replay, o=out, f=fmt: render_video(
                    r, o, video_format=f, fps=args.fps, scale=args.scale), args.repeat)  # fmt: skip
                sizes[fmt] += out.stat().st_size
    rows = [(name, totals[name], sizes[name] / 1024 / len(replays)) for name in names]
    for name, total, kb in rows:
        print(f"{name:<28}{total:>9.2f}{total / len(replays):>9.3f}"
              f"{1000 * total / positions:>10.2f}{kb:>10.0f}")  # fmt: skip
    print(host_speed())


if __name__ == "__main__":
    main()
