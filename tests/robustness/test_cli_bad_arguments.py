"""Every command of ``snakebench`` and ``python -m snakebench.dispatch`` answers bad
arguments with exit status 2, one error line and no traceback.

The commands are read from the Typer apps, so a new command or option is covered
without touching this file: for each command, an unknown option; for each option
taking a value, the option without its value; for each int or float option, a
value that is not a number; for each declared ``min``/``max``, a value just
outside; for each required argument or option, leaving it out. A hand-written
list then covers values that only the command itself can judge.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
import typer
import typer.testing
from typer.testing import CliRunner, Result

from snakebench.cli import dispatch
from snakebench.cli.main import app as snakebench_app

APPS: dict[str, typer.Typer] = {
    "snakebench": snakebench_app,
    "python -m snakebench.dispatch": dispatch.app,
}
UsageError = Callable[[Result, str], None]


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from walk(sub, (*path, name))


def scalar(annotation: Any) -> Any:
    """``int`` for ``int`` and ``int | None``; other annotations unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def cases() -> Iterator[Any]:
    for prog, typer_app in APPS.items():
        for path, command in walk(typer.main.get_command(typer_app)):
            name = " ".join((prog, *path))
            yield pytest.param(prog, [*path, "--no-such-option-xyz"], id=f"{name} --unknown")
            required: list[str] = []
            for param in command.params:
                if param.param_type_name == "argument":
                    if param.required:
                        required.append(param.name)
                    continue
                opt = max(param.opts, key=len)
                if opt in ("--install-completion", "--show-completion"):
                    continue
                if param.required:
                    required.append(opt)
                if getattr(param, "is_flag", False):
                    continue
                kind = scalar(param.type_descriptor.annotation)
                yield pytest.param(prog, [*path, opt], id=f"{name} {opt} (no value)")
                bad = {int: ["abc", "1.5", "0x10", ""], float: ["abc", "1e", "nan?"]}
                for value in bad.get(kind, []):
                    yield pytest.param(prog, [*path, opt, value], id=f"{name} {opt}={value!r}")
                step = 1 if kind is int else 0.5
                if param.min is not None:
                    low = str(param.min - step)
                    yield pytest.param(prog, [*path, opt, low], id=f"{name} {opt}={low}")
                if param.max is not None:
                    high = str(param.max + step)
                    yield pytest.param(prog, [*path, opt, high], id=f"{name} {opt}={high}")
            if required:
                yield pytest.param(prog, list(path), id=f"{name} (missing {', '.join(required)})")


@pytest.fixture(scope="module", autouse=True)
def built_once() -> Iterator[None]:
    """Build each app's click command once: ``CliRunner.invoke`` rebuilds the whole
    tree from the function signatures on every call (~70 ms here), which would make
    these few hundred invocations take half a minute."""
    built = {id(typer_app): typer.main.get_command(typer_app) for typer_app in APPS.values()}
    original = typer.testing._get_command

    def cached(typer_app: typer.Typer) -> Any:
        return built.get(id(typer_app)) or original(typer_app)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", cached)
        yield


def run(prog: str, args: list[str]) -> Result:
    return CliRunner().invoke(APPS[prog], args, prog_name=prog)


@pytest.mark.parametrize(("prog", "args"), list(cases()))
def test_generated_bad_arguments(
    prog: str, args: list[str], safe_env: dict[str, str], usage_error: UsageError
) -> None:
    usage_error(run(prog, args), f"{prog} {' '.join(args)}")


def test_the_enumeration_sees_the_commands() -> None:
    ids = [p.id for p in cases()]
    assert len(ids) > 150
    for expected in ("snakebench play --width='abc'", "snakebench replay verify (missing files)"):
        assert expected in ids
    assert any(i.startswith("python -m snakebench.dispatch cancel") for i in ids)


SYNC = ["--model-a", "greedy", "--model-b", "random", "--sync"]
AB = ["--model-a", "greedy", "--model-b", "random"]
SEMANTIC: list[tuple[str, list[str]]] = [
    ("snakebench", ["play", "greedy"]),
    ("snakebench", ["play", "greedy", "nobody"]),
    ("snakebench", ["play", "greedy", "random", "--double-death", "x"]),
    ("snakebench", ["play", "greedy", "random", "--invalid-move-policy", "x"]),
    ("snakebench", ["play", "greedy", "random", "--seed", str(2**64)]),
    ("snakebench", ["play", "greedy", "random", "--width", "2", "--height", "2",
                    "--num-apples", "9"]),
    ("snakebench", ["play", "--models", "greedy"]),
    ("snakebench", ["tournament", "greedy", "random", "--games-per-pair", "0", "--sync"]),
    ("snakebench", ["tournament", "greedy", "random", "survivor", "--games-per-pair", "40000",
                    "--sync"]),
    ("snakebench", ["tournament", "greedy", "random", "--width", "0", "--sync"]),
    ("snakebench", ["tournament", "greedy", "random", "--max-cost", "-1", "--sync"]),
    ("snakebench", ["tournament", "greedy", "--sync"]),
    ("snakebench", ["tournament-report", "nope"]),
    ("snakebench", ["evaluate", "greedy", "--games", "0", "--sync"]),
    ("snakebench", ["evaluate", "nobody", "--sync"]),
    ("snakebench", ["evaluate", "greedy", "--sync", "--tactic", "bluff"]),
    ("snakebench", ["costs", "--batch", "nope"]),
    ("snakebench", ["costs", "--model", "nope"]),
    ("snakebench", ["leaderboard", "--method", "bogus"]),
    ("snakebench", ["leaderboard", "--json", "--csv"]),
    ("snakebench", ["report", "--since", "yesterday"]),
    ("snakebench", ["report", "--since", "2026-01-01", "--days", "2"]),
    ("snakebench", ["report", "--format", "xml"]),
    ("snakebench", ["report", "--out", "."]),
    ("snakebench", ["models", "show", "nope"]),
    ("snakebench", ["models", "remove", "nope"]),
    ("snakebench", ["models", "add", "x", "--provider", "bogus", "--model", "y"]),
    ("snakebench", ["models", "add", "x", "--provider", "openai", "--model", "y", "--extra", "z"]),
    ("snakebench", ["models", "import", "/nonexistent/models.yaml"]),
    ("snakebench", ["models", "add", "x", "--provider", "openai", "--model", "y",
                    "--daily-cap", "0"]),
    ("snakebench", ["models", "cap", "nope", "5"]),
    ("snakebench", ["models", "cap", "random", "lots"]),
    ("snakebench", ["models", "cap", "random", "nan"]),
    ("snakebench", ["models", "add", "c", "--provider", "anthropic", "--model", "claude",
                    "--extra", 'thinking={"type": "enabled", "budget_tokens": 8000}']),
    ("snakebench", ["models", "add", "x", "--provider", "openai", "--model", "y",
                    "--extra", 'extra_body={"max_output_tokens": 100000}']),
    ("snakebench", ["limits", "set", "--provider", "openai"]),
    ("snakebench", ["limits", "set", "--provider", "bogus", "--rpm", "5"]),
    ("snakebench", ["limits", "set", "--model", "nope", "--rpm", "5"]),
    ("snakebench", ["limits", "set", "--rpm", "5"]),
    ("snakebench", ["limits", "set", "--provider", "openai", "--model", "random", "--rpm", "5"]),
    ("snakebench", ["limits", "clear"]),
    ("snakebench", ["fake-llm", "--max-concurrency", "-1"]),
    ("snakebench", ["replay", "verify", "--double-death", "bogus", "/nonexistent.json"]),
    ("snakebench", ["replay", "show", "/nonexistent.json"]),
    ("snakebench", ["replay", "video", "/nonexistent.json"]),
    ("snakebench", ["replay", "video", "/nonexistent.json", "--format", "avi"]),
    ("snakebench", ["replay", "video", "/nonexistent.json", "--width", "400", "--scale", "8"]),
    ("snakebench", ["fake-llm", "--strategy", "bogus"]),
    ("snakebench", ["fake-llm", "--host", "8.8.8.8"]),
    ("snakebench", ["fake-llm", "--error-rate", "0.6", "--timeout-rate", "0.6"]),
    ("snakebench", ["web", "--port", "70000"]),
    ("snakebench", ["games", "undo", "nope", "--reason", "r"]),
    ("snakebench", ["games", "undo", "nope", "--reason", "r", "--dry-run"]),
    ("snakebench", ["games", "undo", "nope", "--reason", "r", "--by", " "]),
    ("snakebench", ["games", "restore", "nope"]),
    ("snakebench", ["models", "reset", "random", "--reason", "r"]),
    ("snakebench", ["models", "reset", "nope", "--evaluation-only", "--reason", "r"]),
    ("snakebench", ["models", "reset", "random", "--evaluation-only", "--reason", "r"]),
    ("snakebench", ["models", "reset", "random", "--evaluation-only", "--reason", ""]),
    ("python -m snakebench.dispatch", ["--model-a", "greedy"]),
    ("python -m snakebench.dispatch", [*SYNC, "--count", "0"]),
    ("python -m snakebench.dispatch", [*SYNC, "--count", "-5"]),
    ("python -m snakebench.dispatch", [*SYNC, "--count", "1000000000"]),
    ("python -m snakebench.dispatch", [*SYNC, "--width", "0"]),
    ("python -m snakebench.dispatch", [*SYNC, "--height", "-3"]),
    ("python -m snakebench.dispatch", [*SYNC, "--max-rounds", "0"]),
    ("python -m snakebench.dispatch", [*SYNC, "--num-apples", "-1"]),
    ("python -m snakebench.dispatch", [*SYNC, "--apple-target", "0"]),
    ("python -m snakebench.dispatch", [*SYNC, "--priority", "bogus"]),
    ("python -m snakebench.dispatch", [*SYNC, "--double-death", "x"]),
    ("python -m snakebench.dispatch", [*SYNC, "--invalid-move-policy", "x"]),
    ("python -m snakebench.dispatch", [*SYNC, "--max-cost", "-1"]),
    ("python -m snakebench.dispatch", [*SYNC, "--seed", "-1"]),
    ("python -m snakebench.dispatch", [*SYNC, "--mirror", "--count", "3"]),
    ("python -m snakebench.dispatch", [*SYNC, "--local"]),
    ("python -m snakebench.dispatch", ["--model-a", "greedy", "--model-b", "nobody", "--sync"]),
    ("python -m snakebench.dispatch", [*AB, "--in", "5x"]),
    ("python -m snakebench.dispatch", [*AB, "--at", "yesterday"]),
    ("python -m snakebench.dispatch", [*AB, "--at", "2000-01-01"]),
    ("python -m snakebench.dispatch", [*AB, "--at", "x", "--in", "1m"]),
    # Redis is a closed port: commands that need it refuse in one line.
    ("python -m snakebench.dispatch", [*AB, "--count", "1"]),
    ("python -m snakebench.dispatch", ["cancel", "nope"]),
    ("python -m snakebench.dispatch", ["retry", "nope"]),
    ("python -m snakebench.dispatch", ["monitor", "nope"]),
    ("python -m snakebench.dispatch", ["status"]),
    ("python -m snakebench.dispatch", ["reconcile", "--batch", "nope"]),
    # Alerts (docs/WEBHOOKS.md): only http(s) URLs, delivered by workers (not --sync).
    ("python -m snakebench.dispatch", [*AB, "--webhook", "ftp://example.org/hook"]),
    ("python -m snakebench.dispatch", [*AB, "--webhook", "example.org/hook"]),
    ("python -m snakebench.dispatch", [*AB, "--webhook", "http://"]),
    ("python -m snakebench.dispatch", [*AB, "--webhook", "http://a b/"]),
    ("python -m snakebench.dispatch", [*AB, "--webhook", "http://h:99999/"]),
    ("python -m snakebench.dispatch", [*SYNC, "--webhook", "http://127.0.0.1:1/"]),
    ("snakebench", ["tournament", "greedy", "random", "--webhook", "file:///etc/passwd"]),
    ("snakebench", ["tournament", "greedy", "random", "--sync", "--webhook", "http://h/"]),
    ("snakebench", ["evaluate", "greedy", "--webhook", "mailto:ops@example.org"]),
    ("snakebench", ["evaluate", "greedy", "--sync", "--webhook", "http://h/"]),
    ("snakebench", ["webhooks", "test", "gopher://h/"]),
    ("snakebench", ["webhooks", "test"]),
]  # fmt: skip


@pytest.mark.parametrize(("prog", "args"), SEMANTIC, ids=[" ".join(a) for _, a in SEMANTIC])
def test_values_only_the_command_can_judge(
    prog: str, args: list[str], safe_env: dict[str, str], usage_error: UsageError
) -> None:
    usage_error(run(prog, args), f"{prog} {' '.join(args)}")


def test_bad_input_leaves_no_database_behind(safe_env: dict[str, str]) -> None:
    """Refused input must not create the SQLite file as a side effect."""
    run("python -m snakebench.dispatch", ["--model-a", "greedy", "--model-b", "nobody", "--sync"])
    run("snakebench", ["play", "greedy", "nobody"])
    assert not Path(safe_env["DATABASE_URL"].removeprefix("sqlite:///")).exists()
