"""Provider keys live in the environment only: after a real batch (the CLI, Redis,
``rq worker`` processes, OpenAI, Anthropic and OpenRouter models on the fake LLM
server, one of them failing every call) no key, nor a recognisable piece of one, is
found in Redis, in any table or column of the database, in a replay, or in any log
or CLI output the run wrote.

The scan is shown able to fail: a key planted afterwards in each kind of place
(every Redis type, a job's compressed payload, every table, a replay, a log) is
found where it was put.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import string
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = pytest.mark.slow

ALPHABET = string.ascii_lowercase + string.digits
WINDOW = 12  # a run of this many random characters of a key counts as the key
PREFIX_CHUNK = 6  # the key's prefix plus this many of its random characters, too


@dataclass(frozen=True)
class Secret:
    variable: str
    prefix: str
    tail: str

    @property
    def value(self) -> str:
        return self.prefix + self.tail

    def needles(self) -> list[bytes]:
        """What gives the key away: itself, its prefix with the start of its random
        part (as a "masked" key shows it), any 12 consecutive characters of the random
        part, and the key base64-encoded at any byte alignment."""
        found = {self.value, self.prefix + self.tail[:PREFIX_CHUNK]}
        found |= {self.tail[i : i + WINDOW] for i in range(len(self.tail) - WINDOW + 1)}
        raw = self.value.encode()
        for pad in range(3):
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                encoded = encode(b"\0" * pad + raw).decode()
                first, last = -(-pad // 3), (pad + len(raw)) // 3  # whole 3-byte groups
                found.add(encoded[first * 4 : last * 4])
        return sorted(needle.encode() for needle in found)


def make_secrets() -> list[Secret]:
    def tail() -> str:
        return "".join(secrets.choice(ALPHABET) for _ in range(32))

    return [
        Secret("OPENAI_API_KEY", "sk-test-", tail()),
        Secret("ANTHROPIC_API_KEY", "sk-ant-test-", tail()),
        Secret("OPENROUTER_API_KEY", "sk-or-test-", tail()),
    ]


Finding = tuple[str, str]  # (where, which variable's key)


class Scanner:
    def __init__(self, keys: list[Secret]) -> None:
        self.needles = [(key.variable, key.needles()) for key in keys]
        self.redis_types: set[str] = set()  # what the Redis scans met

    def check(self, where: str, blob: bytes | str | None) -> list[Finding]:
        """Findings in ``blob``, and in its zlib-decompressed form when it is one."""
        if blob is None:
            return []
        data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
        found = []
        for form in _forms(data):
            for variable, needles in self.needles:
                if any(needle in form for needle in needles):
                    found.append((where, variable))
        return sorted(set(found))

    def redis(self, conn: redis.Redis) -> list[Finding]:
        """Every key of the database: its name and, by type, all it holds."""
        found: list[Finding] = []
        for key in conn.scan_iter(count=1000):
            name = key.decode(errors="backslashreplace")
            found += self.check(f"redis key name {name}", key)
            kind = conn.type(key).decode()
            self.redis_types.add(kind)
            for label, blob in _redis_values(conn, key, kind):
                found += self.check(f"redis {kind} {name}{label}", blob)
        return found

    def sqlite(self, path: Path) -> list[Finding]:
        """Every column of every row of every table (the file's raw bytes, free pages
        included, are scanned with the other files)."""
        found: list[Finding] = []
        with sqlite3.connect(path) as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                cursor = db.execute(f'SELECT * FROM "{table}"')  # names from the schema
                columns = [column[0] for column in cursor.description]
                for row in cursor:
                    for column, value in zip(columns, row, strict=True):
                        text = value if isinstance(value, bytes | str) else str(value)
                        found += self.check(f"db {table}.{column}", text)
        return found

    def files(self, root: Path) -> list[Finding]:
        found: list[Finding] = []
        for path in sorted(root.rglob("*")):
            if path.is_file():
                found += self.check(f"file {path.relative_to(root)}", path.read_bytes())
        return found


def _tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _forms(data: bytes) -> Iterator[bytes]:
    yield data
    try:
        inflated = zlib.decompress(data)
    except zlib.error:
        return
    yield from _forms(inflated)


def _redis_values(conn: redis.Redis, key: bytes, kind: str) -> Iterable[tuple[str, bytes]]:
    if kind == "string":
        yield "", conn.get(key)
    elif kind == "hash":
        for field, value in conn.hgetall(key).items():
            label = f" [{field.decode(errors='backslashreplace')}]"
            yield label, field
            yield label, value
    elif kind == "list":
        for value in conn.lrange(key, 0, -1):
            yield "", value
    elif kind == "set":
        for value in conn.smembers(key):
            yield "", value
    elif kind == "zset":
        for member, _score in conn.zrange(key, 0, -1, withscores=True):
            yield "", member
    elif kind == "stream":
        for entry_id, fields in conn.xrange(key):
            for field, value in fields.items():
                label = f" [{entry_id.decode()} {field.decode(errors='backslashreplace')}]"
                yield label, field
                yield label, value
    elif kind != "none":  # gone since the scan listed it: fine; anything else is not
        pytest.fail(f"the scan does not know Redis type {kind!r} (key {key!r})")


# --- the run --------------------------------------------------------------------------

MODELS = {
    # name: (provider, model slug, base URL suffix); the slug's last part is its bot
    "fake-gpt": ("openai", "gpt-fake/greedy", "/v1"),
    "fake-claude": ("anthropic", "claude-fake/survivor", ""),
    "fake-router": ("openrouter", "router-fake/greedy", "/v1"),
}


def test_a_batch_through_workers_leaves_no_key_anywhere(
    tmp_path: Path,
    redis_conn: redis.Redis,
    redis_url: str,
    env_for: Callable[..., dict[str, str]],
    use_env: Callable[[dict[str, str]], None],
    fake_llm: Callable[..., str],
    run_cli: Callable[..., Any],
    workers: Any,
) -> None:
    keys = make_secrets()
    env = env_for(tmp_path, redis_url, **{key.variable: key.value for key in keys})
    use_env(env)
    logs = tmp_path / "logs"

    def cli(program: str, *args: str) -> Any:
        label = "-".join(a for a in args[:3] if not a.startswith("-")) or program
        return run_cli(program, *args, env=env, log_dir=logs, label=f"{program}-{label}")

    good = fake_llm("good", env, "--seed", "3")
    broken = fake_llm("broken", env, "--error-rate", "1")
    for name, (provider, slug, suffix) in MODELS.items():
        prices = ("--price-input", "0.15", "--price-output", "0.6")
        cli("snakebench", "models", "add", name, "--provider", provider, "--model", slug,
            "--base-url", good + suffix, *prices)  # fmt: skip
    cli("snakebench", "models", "add", "fake-broken", "--provider", "openai",
        "--model", "broken/greedy", "--base-url", broken + "/v1")  # fmt: skip

    batches = [
        json.loads(cli("dispatch", *args, "--json").stdout)["batch_id"]
        for args in (
            ("--model-a", "fake-gpt", "--model-b", "fake-claude", "--count", "4", "--mirror"),
            ("--model-a", "fake-router", "--model-b", "fake-claude", "--count", "2"),
            ("--model-a", "fake-broken", "--model-b", "fake-gpt", "--count", "1"),
        )
    ]
    workers.start(env, redis_url, count=2)
    workers.wait_exit(timeout=240)
    for batch in batches:
        cli("dispatch", "monitor", batch, "--json")
    cli("dispatch", "status")
    cli("snakebench", "costs", "--json")
    cli("snakebench", "leaderboard")
    cli("snakebench", "models", "list")

    # The run did what the scan relies on: every provider was called with its key
    # (a missing key fails the game before any call), and one game ended void with
    # the provider's error stored.
    with sqlite3.connect(tmp_path / "sb.db") as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM games GROUP BY status").fetchall())
    assert statuses == {"completed": 6, "void": 1}, statuses
    with urllib.request.urlopen(f"{good}/stats", timeout=5) as response:
        served = json.load(response)["models"]
    assert {slug for _, slug, _ in MODELS.values()} <= set(served), served
    assert all(counts["ok"] > 0 for counts in served.values()), served

    scanner = Scanner(keys)
    assert sorted((tmp_path / "replays").glob("*.json")), "no replay was written"
    worker_logs = sorted(logs.glob("worker-*.log"))
    assert len(worker_logs) == 2 and all(log.stat().st_size for log in worker_logs)
    assert redis_conn.dbsize() > 0
    findings = scanner.redis(redis_conn) + scanner.sqlite(tmp_path / "sb.db")
    findings += scanner.files(tmp_path)
    assert findings == [], findings
    # RQ's own kinds were there to scan: job hashes, registries, result streams.
    assert {"hash", "zset", "stream"} <= scanner.redis_types, scanner.redis_types

    # ... and the scan would have said so: plant a key in each kind of place.
    planted = _plant(keys, redis_conn, tmp_path)
    found = {where for where, _ in scanner.redis(redis_conn) + scanner.sqlite(tmp_path / "sb.db")}
    found |= {where for where, _ in scanner.files(tmp_path)}
    assert planted <= found, sorted(planted - found)


def _plant(keys: list[Secret], conn: redis.Redis, tmp: Path) -> set[str]:
    """Put a key (or a piece of one) in every kind of place the scan covers; returns
    where the scan must now report one."""
    openai, anthropic, router = keys
    chunk = openai.tail[5 : 5 + WINDOW]
    planted = set()
    conn.set("plant:string", f"token={openai.value}")
    conn.hset("plant:hash", "auth", f"Bearer {anthropic.value}")
    conn.rpush("plant:list", "x", base64.b64encode(f"user:{router.value}".encode()))
    conn.sadd("plant:set", f"...{chunk}...")
    conn.zadd("plant:zset", {f"{anthropic.prefix}{anthropic.tail[:PREFIX_CHUNK]}...": 1})
    conn.xadd("plant:stream", {"line": f"key {router.value}"})
    conn.set(f"plant:{openai.value}", "1")
    planted |= {
        "redis string plant:string",
        "redis hash plant:hash [auth]",
        "redis list plant:list",
        "redis set plant:set",
        "redis zset plant:zset",
        f"redis key name plant:{openai.value}",
    }
    stream_id = conn.xrange("plant:stream")[0][0].decode()
    planted.add(f"redis stream plant:stream [{stream_id} line]")
    # A real job's payload, compressed as RQ stores it: found only once inflated.
    job_key = next(iter(sorted(conn.scan_iter(match="rq:job:*"))))
    data = json.dumps(["jobs.run_game.run_game", None, [openai.value], {}]).encode()
    conn.hset(job_key, "data", zlib.compress(data))
    planted.add(f"redis hash {job_key.decode()} [data]")

    with sqlite3.connect(tmp / "sb.db") as db:
        tables = _tables(db)
        for table in tables:
            # The last column that is not the primary key: SQLite stores text in a
            # column of any declared type (no STRICT tables here).
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")') if not row[5]]
            if not db.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                continue
            column = columns[-1]
            db.execute(
                f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = '
                f'(SELECT min(rowid) FROM "{table}")',
                (f"x{anthropic.value}",),
            )
            planted.add(f"db {table}.{column}")
    assert len([p for p in planted if p.startswith("db ")]) >= 5, planted

    replay = sorted((tmp / "replays").glob("*.json"))[0]
    content = json.loads(replay.read_text())
    content["planted"] = {"note": router.value}
    replay.write_text(json.dumps(content))
    log = sorted((tmp / "logs").glob("worker-*.log"))[0]
    with log.open("a") as out:
        out.write(f"connecting with {openai.prefix}{openai.tail[:PREFIX_CHUNK]}****\n")
    planted |= {f"file {replay.relative_to(tmp)}", f"file {log.relative_to(tmp)}"}
    return planted
