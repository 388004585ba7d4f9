"""The repository itself: no half-finished merge is ever committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("<<<<<<< ", ">>>>>>> ")


def test_no_file_holds_merge_conflict_markers() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".js", ".html", ".css", ".toml", ".json", ".yaml",
                               ".yml", ".cfg", ".txt"} or not path.is_file():  # fmt: skip
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if line.startswith(MARKERS) or line == "=======":
                found.append(f"{name}:{number}")
    assert found == []
