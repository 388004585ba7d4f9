"""The replay reader turns every bad file into a :class:`ReplayFormatError` with a
message: truncated bytes, wrong types at every key of a real replay, huge files.

Real replays are mutated one place at a time: every key dropped and every value
replaced by values of the wrong types. The reader must either refuse the result
with a ReplayFormatError or accept it; what it accepts must then be usable by
``replay verify`` and ``replay show`` without an unexpected exception.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from snakebench.engine.replay import ReplayFormatError, board_positions, parse_replay, read_replay
from snakebench.engine.verify import verify_replay

PROFILE = settings.get_profile("robustness")
UPSTREAM = Path(__file__).resolve().parents[1] / "fixtures" / "upstream-replays"
# Small files of both frame conventions and both double-death eras.
SOURCES = {
    "pre": "snake_game_d399fb96-b14e-4869-9b66-65746690cd00.json",
    "post": "snake_game_98a685c4-9ca3-4b72-94a3-d8cfacf091ba.json",
    "post-2026": "snake_game_71c9a593-02da-41ac-8371-4ebed6180e5e.json",
}
WRONG: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, float("nan"), float("inf"),
    "", "x", "UP", [], [1], [[0, 0]], {}, {"a": 1}, {"0": None},
]  # fmt: skip
Path_ = tuple[str | int, ...]


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((UPSTREAM / SOURCES[name]).read_text(encoding="utf-8"))
    if name == "post-2026":
        # Also mutate the optional rules block our writer adds.
        doc["game"]["rules"] = {"apple_target": 30, "double_death": "score"}
    return doc


def paths(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every place in ``node``: all keys, and the first, second and last list items."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*path, key))
    elif isinstance(node, list):
        for index in sorted({0, 1, len(node) - 1} & set(range(len(node)))):
            yield from paths(node[index], (*path, index))


def mutated(doc: Any, path: Path_, value: Any, drop: bool = False) -> Any:
    copied = copy.deepcopy(doc)
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return copied


def mutations(doc: Any) -> Iterator[tuple[Path_, str, Any]]:
    """``(place, description, mutated copy)``: each place dropped, then mistyped."""
    for path in paths(doc):
        yield path, f"drop {path}", mutated(doc, path, None, drop=True)
        for value in WRONG:
            yield path, f"{path} = {value!r}", mutated(doc, path, value)


def general(path: Path_) -> str:
    """A place with its list indices left out, to group failures:
    ``("frames", 0, "events")`` -> ``"frames.N.events"``."""
    return ".".join("N" if isinstance(part, int) else part for part in path)


def consume(doc: Any) -> str:
    """Parse ``doc`` and, if accepted, verify it and build its ``replay show`` frames.
    Returns "refused", "accepted"; any other exception escapes."""
    try:
        replay = parse_replay(doc)
    except ReplayFormatError as exc:
        assert str(exc).strip(), "a ReplayFormatError without a message"
        return "refused"
    verify_replay(replay)
    board_positions(replay)
    return "accepted"


@pytest.mark.parametrize("source", list(SOURCES))
def test_sources_are_valid(source: str) -> None:
    replay = parse_replay(load(source))
    assert verify_replay(replay) is None


# Places where parse_replay accepts a wrong value that a consumer then trips over.
# Places where parse_replay may accept a wrong value that a consumer then trips over:
# none left (events and partial scores are refused since issue 7's sweep found them).
KNOWN_GAPS: set[str] = set()


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_key_dropped_or_mistyped(source: str) -> None:
    """parse_replay raises nothing but ReplayFormatError; what it accepts, verify
    and show can use."""
    doc = load(source)
    escaped: dict[str, str] = {}
    counts = {"refused": 0, "accepted": 0}
    for path, what, bad in mutations(doc):
        with contextlib.suppress(ReplayFormatError):
            parse_replay(bad)  # parse_replay itself raises nothing else
        try:
            counts[consume(bad)] += 1
        except Exception as exc:
            if general(path) not in KNOWN_GAPS:
                escaped.setdefault(general(path), f"{what}: {type(exc).__name__}: {exc}")
    assert not escaped, "\n".join(escaped.values())
    assert counts["refused"] > 100  # the sweep really reached the checks


def test_events_not_objects_are_refused() -> None:
    doc = load("post")
    doc["frames"][0]["events"] = [None]
    assert consume(doc) == "refused"


def test_events_not_a_list_are_refused() -> None:
    doc = load("post")
    doc["frames"][0]["events"] = True
    assert consume(doc) == "refused"


def test_scores_missing_a_snake_are_refused() -> None:
    doc = load("post")
    del doc["initial_state"]["scores"]["0"]
    assert consume(doc) == "refused"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@settings(PROFILE, max_examples=200)
@given(st.sampled_from(list(SOURCES)), st.data())
def test_random_json_anywhere(source: str, data: st.DataObject) -> None:
    """Any JSON value at any place of a real replay (or as the whole document)."""
    doc = load(source)
    where = data.draw(st.sampled_from([(), *paths(doc)]))
    value = data.draw(JSON_VALUES)
    bad = value if where == () else mutated(doc, where, value)
    try:
        parse_replay(bad)
    except ReplayFormatError as exc:
        assert str(exc).strip()


# --------------------------------------------------------------------- files


def source_bytes(name: str) -> bytes:
    return (UPSTREAM / SOURCES[name]).read_bytes()


def read_or_refuse(path: Path) -> str:
    try:
        read_replay(path)
    except ReplayFormatError as exc:
        assert str(exc).strip()
        return "refused"
    return "accepted"


@settings(PROFILE, max_examples=150)
@given(source=st.sampled_from(list(SOURCES)), data=st.data())
def test_truncated_files(source: str, data: st.DataObject, tmp_path: Path) -> None:
    raw = source_bytes(source)
    cut = data.draw(st.integers(0, len(raw) - 1))
    path = tmp_path / "cut.json"
    path.write_bytes(raw[:cut])
    assert read_or_refuse(path) == "refused" or not raw[cut:].strip()


@settings(PROFILE, max_examples=150)
@given(source=st.sampled_from(list(SOURCES)), data=st.data())
def test_corrupted_bytes(source: str, data: st.DataObject, tmp_path: Path) -> None:
    """A few bytes overwritten with anything (invalid UTF-8 included)."""
    raw = bytearray(source_bytes(source))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / "corrupt.json"
    path.write_bytes(bytes(raw))
    read_or_refuse(path)


def timed_refusal(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    outcome = read_or_refuse(path)
    return outcome, time.perf_counter() - started


def size_bound(path: Path) -> float:
    """A generous time bound: 3 s plus 1 s per MB (a hang check, not a benchmark)."""
    return 3 + path.stat().st_size / 1e6


HUGE: dict[str, Callable[[], bytes]] = {
    "50 MB of whitespace": lambda: b" " * (50 << 20),
    "a list of 10^6 numbers": lambda: json.dumps(list(range(10**6))).encode(),
    "10^6 frames that are not objects": lambda: json.dumps(
        {**load("post"), "frames": [1] * 10**6}
    ).encode(),
    "10^5 frames with no moves": lambda: json.dumps(
        {**load("post"), "frames": [{"state": {}}] * 10**5}
    ).encode(),
    "10 MB string value": lambda: json.dumps({**load("post"), "game": "x" * 10**7}).encode(),
}


@pytest.mark.parametrize("name", list(HUGE))
def test_huge_files_are_refused_in_time(name: str, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(HUGE[name]())
    outcome, elapsed = timed_refusal(path)
    assert outcome == "refused", name
    assert elapsed < size_bound(path), f"{name}: {elapsed:.1f} s"


POISON = {
    "deeply nested arrays": b"[" * 100_000,
    "deeply nested objects": b'{"a":' * 100_000,
    "an integer of 5000 digits": b'{"version": ' + b"1" * 5000 + b"}",
}


@pytest.mark.parametrize("name", list(POISON))
def test_json_the_decoder_refuses_otherwise(name: str, tmp_path: Path) -> None:
    path = tmp_path / "poison.json"
    path.write_bytes(POISON[name])
    assert timed_refusal(path)[0] == "refused"


def test_huge_but_well_formed_file_is_handled_in_time(
    tmp_path: Path, safe_env: dict[str, str]
) -> None:
    """200 000 apples on a 10x10 board: well-formed, so read, then refused by verify."""
    doc = load("post")
    doc["initial_state"]["apples"] = [[1, 1]] * 200_000
    path = tmp_path / "apples.json"
    path.write_text(json.dumps(doc))
    started = time.perf_counter()
    result = verify(path)
    elapsed = time.perf_counter() - started
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert elapsed < size_bound(path), f"{elapsed:.1f} s"


def test_unreadable_paths(tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + source_bytes("post"))
    (tmp_path / "latin1.json").write_bytes(b'{"game": "\xe9"}')
    (tmp_path / "empty.json").write_bytes(b"")
    for path in (
        tmp_path / "bom.json",
        tmp_path / "latin1.json",
        tmp_path / "empty.json",
        tmp_path / "absent.json",
        tmp_path,  # a directory
    ):
        assert read_or_refuse(path) == "refused", path


# ------------------------------------------------------------ replay verify


def bad_files(tmp_path: Path) -> dict[str, Path]:
    """A spread of unreadable replays, one per kind of damage."""
    raw = source_bytes("post")
    doc = load("post")
    contents: dict[str, bytes] = {
        "truncated": raw[: len(raw) // 2],
        "truncated-early": raw[:7],
        "whitespace": b" \n\t " * 1000,
        "a list": b"[1, 2, 3]",
        "not utf-8": b'{"game": "\xff"}',
        "empty": b"",
        "no frames": json.dumps({k: v for k, v in doc.items() if k != "frames"}).encode(),
        "frames a string": json.dumps({**doc, "frames": "x"}).encode(),
        "board zero": json.dumps(mutated(doc, ("game", "board", "width"), 0)).encode(),
        "snake not cells": json.dumps(mutated(doc, ("initial_state", "snakes", "0"), [1])).encode(),
        "moves a list": json.dumps(mutated(doc, ("frames", 0, "moves"), [])).encode(),
        "version 2": json.dumps({**doc, "version": 2}).encode(),
    }
    files = {}
    for name, content in contents.items():
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_bytes(content)
        files[name] = path
    return files


def verify(path: Path, *extra: str) -> Result:
    from snakebench.cli.main import app

    return CliRunner().invoke(app, ["replay", "verify", *extra, str(path)])


def test_verify_exits_2_with_one_line(tmp_path: Path, safe_env: dict[str, str]) -> None:
    problems = []
    for name, path in bad_files(tmp_path).items():
        result = verify(path)
        lines = result.stderr.strip().splitlines()
        if (
            result.exit_code != 2
            or "Traceback" in result.output
            or len(lines) != 1
            or "unreadable" not in lines[0]
            or result.stdout.strip()
        ):
            problems.append(f"{name}: exit {result.exit_code}: {result.output!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", list(POISON))
def test_verify_poison_exits_2(name: str, tmp_path: Path, safe_env: dict[str, str]) -> None:
    path = tmp_path / "poison.json"
    path.write_bytes(POISON[name])
    result = verify(path)
    assert result.exit_code == 2, result.output
    assert "unreadable" in result.stderr


@settings(PROFILE, max_examples=25)
@given(source=st.sampled_from(list(SOURCES)), data=st.data())
def test_verify_on_truncated_files(
    source: str, data: st.DataObject, tmp_path: Path, safe_env: dict[str, str]
) -> None:
    raw = source_bytes(source)
    cut = data.draw(st.integers(0, len(raw) - 1))
    path = tmp_path / "cut.json"
    path.write_bytes(raw[:cut])
    result = verify(path)
    assert "Traceback" not in result.output
    if raw[cut:].strip():
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
