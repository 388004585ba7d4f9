"""``python -m snakebench.dispatch`` is run by supervisors, cron and the drills every few
seconds: it loads what its commands use, not every other command's dependencies."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("flask", "rq_dashboard", "openai", "anthropic", "snakebench.web", "snakebench.cli.main")


def test_the_dispatch_commands_load_neither_the_web_app_nor_the_sdks() -> None:
    probe = (
        "import sys, snakebench.dispatch, snakebench.cli.dispatch\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == "", f"python -m snakebench.dispatch imports {loaded}"
