"""``stack.json``: how another shell finds a running local stack.

``snakebench local up`` stays in the foreground; ``local status`` and ``local down``
run elsewhere and know the stack only through this file: its Redis URL, the pids
(with start times) of its owner, Redis, workers and dashboard, and when it started.
The file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakebench.localstack.errors import LocalStackError
from snakebench.localstack.processes import ProcessRecord

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackState:
    """What ``stack.json`` holds about one stack."""

    root: str
    redis_url: str
    socket: str
    started_at: str
    owner: ProcessRecord
    redis: ProcessRecord
    workers: tuple[ProcessRecord, ...] = ()
    dashboard: ProcessRecord | None = None
    dashboard_url: str | None = None

    def clients(self) -> list[ProcessRecord]:
        """The processes that use Redis: stopped before it."""
        return [*self.workers, *([self.dashboard] if self.dashboard else [])]

    def children(self) -> list[ProcessRecord]:
        """Every process the stack started, in the order to stop them."""
        return [*self.clients(), self.redis]

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "redis_url": self.redis_url,
            "socket": self.socket,
            "started_at": self.started_at,
            "owner": self.owner.to_json(),
            "redis": self.redis.to_json(),
            "workers": [w.to_json() for w in self.workers],
            "dashboard": self.dashboard.to_json() if self.dashboard else None,
            "dashboard_url": self.dashboard_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackState:
        dashboard = data.get("dashboard")
        return cls(
            root=str(data["root"]),
            redis_url=str(data["redis_url"]),
            socket=str(data["socket"]),
            started_at=str(data["started_at"]),
            owner=ProcessRecord.from_json(data["owner"]),
            redis=ProcessRecord.from_json(data["redis"]),
            workers=tuple(ProcessRecord.from_json(w) for w in data.get("workers", [])),
            dashboard=ProcessRecord.from_json(dashboard) if dashboard else None,
            dashboard_url=data.get("dashboard_url"),
        )


def state_path(root: Path) -> Path:
    return root / STATE_FILE


def save_state(root: Path, state: StackState) -> None:
    path = state_path(root)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(tmp, path)


def load_state(root: Path) -> StackState | None:
    """The state of the stack recorded under ``root``; None when there is none."""
    path = state_path(root)
    try:
        return StackState.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalStackError(f"{path} is unreadable ({exc}): delete it by hand") from None


def remove_state(root: Path) -> None:
    state_path(root).unlink(missing_ok=True)
