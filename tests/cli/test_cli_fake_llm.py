"""``snakebench fake-llm``: starts, serves, stops on Ctrl+C; refuses bad settings."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import Invoke


def test_serves_until_interrupted() -> None:
    script = Path(sys.executable).with_name("snakebench")
    proc = subprocess.Popen(
        [str(script), "fake-llm", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(f"{url}/stats", timeout=10) as reply:
            assert json.load(reply)["total"]["requests"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "loopback only"),
        (["--strategy", "psychic"], "unknown strategy 'psychic'"),
        (["--error-rate", "0.6", "--malformed-rate", "0.6"], "add up to 1.2; at most 1"),
        (["--error-rate", "2"], "--error-rate"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_settings_are_usage_errors(cli: Invoke, args: list[str], message: str) -> None:
    result = cli("fake-llm", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_port_in_use_is_a_clear_error(cli: Invoke) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("fake-llm", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{not json", "is not JSON"), (b"\xff\xfe", "cannot read")],
)
def test_a_bad_catalogue_file_is_a_usage_error(
    cli: Invoke, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "catalogue.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = cli("fake-llm", "--port", "0", "--catalogue", str(path))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
