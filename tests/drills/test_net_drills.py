"""The network drills of scripts/drill.py (hosts in network namespaces, netns.py), at
small sizes, all started together: each builds its own bridge and hosts (its subnet is
chosen from its pid), so they share nothing but the machine's two cores. Skipped, with
the reason, where the machine forbids network namespaces.

Each must exit 0 and print a summary row with lost = duplicated = wrongly scored = 0.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from drills.common import finish_drill, read_summary
from drills.netns import unavailable_reason

DRILL = Path(__file__).resolve().parents[2] / "scripts" / "drill.py"
TIMEOUT = 300  # seconds for the slowest network drill at its small size

REASON = unavailable_reason()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=f"no netns here: {REASON}"),
]

# name: the small size's arguments. Each finishes in well under TIMEOUT (test_drills).
NET_SIZES: dict[str, list[str]] = {
    "sentinel-failover": ["--games", "100", "--workers", "3", "--deadline", "200"],
}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(DRILL), name, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, args in NET_SIZES.items()
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


@pytest.mark.parametrize("name", sorted(NET_SIZES))
def test_network_drill_loses_duplicates_and_misscores_nothing(
    runs: dict[str, subprocess.Popen[str]], name: str
) -> None:
    code, out = finish_drill(runs[name], TIMEOUT)
    assert code is not None, f"drill still running after {TIMEOUT} s:\n{out}"
    row = read_summary(out, name)
    assert (row["lost"], row["duplicated"], row["wrongly scored"]) == ("0", "0", "0"), out
    assert row["verdict"] == "PASS" and code == 0, out
