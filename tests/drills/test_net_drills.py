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

from drills.common import finish_drill, read_summary, started_drills
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
    # A heartbeat TTL of 65 s (net_partition.HEARTBEAT_TTL) is the floor of both.
    "partition-heal": ["--games", "18", "--workers", "6", "--max-rounds", "25",
                       "--cut-for", "80", "--deadline", "120"],
    "half-partition": ["--games", "24", "--workers", "6", "--max-rounds", "25",
                       "--cut-for", "80", "--pg-for", "20", "--deadline", "120"],
    # A third of the workers behind the slow, lossy proxy (scripts/drills/proxy.py).
    "slow-link": ["--games", "30", "--workers", "3", "--deadline", "200"],
    # 200 jobs are one enqueue chunk: cut as soon as the batch is stored (the full
    # size, 10,000 games in chunks of 1,000, is cut half-way: docs/RELIABILITY.md).
    "dispatcher-cut": ["--games", "200", "--workers", "2", "--cut-at", "0",
                       "--outage", "10", "--deadline", "150"],
}  # fmt: skip


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    with started_drills(NET_SIZES) as procs:
        yield procs


@pytest.mark.parametrize("name", sorted(NET_SIZES))
def test_network_drill_loses_duplicates_and_misscores_nothing(
    runs: dict[str, subprocess.Popen[str]], name: str
) -> None:
    code, out = finish_drill(runs[name], TIMEOUT)
    assert code is not None, f"drill still running after {TIMEOUT} s:\n{out}"
    row = read_summary(out, name)
    assert (row["lost"], row["duplicated"], row["wrongly scored"]) == ("0", "0", "0"), out
    assert row["verdict"] == "PASS" and code == 0, out
