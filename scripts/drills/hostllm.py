"""The fake LLM provider on each worker host, on that host's own loopback.

``snakebench fake-llm`` answers anyone without a key, so it binds to loopback only.
Each network namespace has its own loopback, so one fake per worker host, all on
``127.0.0.1:PORT``, lets one model row (``base_url http://127.0.0.1:PORT/v1``) reach
"the provider" from every worker host, each independently, as worker machines reach a
real provider over the internet. The provider's traffic never crosses the bridge, so
the bridge carries only what the services host serves (Redis, PostgreSQL).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from drills.netns import Host, NetnsUnavailable

BIN = Path(sys.executable).parent
STATS = (
    "import json, sys, urllib.request\n"
    "with urllib.request.urlopen(sys.argv[1], timeout=10) as reply:\n"
    "    print(json.load(reply)['total']['requests'])\n"
)


class HostFakeLLM:
    """``snakebench fake-llm`` with ``latency_ms`` + U(0, ``jitter_ms``) per reply on
    every one of ``hosts``, on their loopback at ``port``."""

    def __init__(
        self, hosts: list[Host], tmp: Path, latency_ms: float, jitter_ms: float, port: int = 8765
    ) -> None:
        self.hosts = hosts
        self.tmp = tmp
        self.port = port
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms

    @property
    def base_url(self) -> str:
        """What a model's ``base_url`` names: the same URL on every host."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        argv = [str(BIN / "snakebench"), "fake-llm", "--port", str(self.port)]
        argv += ["--latency-ms", f"{self.latency_ms:g}", "--jitter-ms", f"{self.jitter_ms:g}"]
        for host in self.hosts:
            host.popen(argv, log=self.tmp / f"fake-llm-{host.name}.log")
        deadline = time.monotonic() + 60
        while True:
            try:
                self.moves()
                return
            except NetnsUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def moves(self) -> int:
        """Replies sent so far by every host's fake (two a round)."""
        total = 0
        for host in self.hosts:
            url = f"http://127.0.0.1:{self.port}/stats"
            done = host.run([sys.executable, "-c", STATS, url])
            if done.returncode != 0:
                raise NetnsUnavailable(f"fake LLM on {host.name}: {done.stderr.strip()[-200:]}")
            total += int(json.loads(done.stdout))
        return total
