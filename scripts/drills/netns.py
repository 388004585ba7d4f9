"""Separate hosts on one machine: Linux network namespaces on one bridge.

Every other drill runs on loopback, where a "network failure" can only be a process
dying. Here each host is a network namespace with its own interface (one end of a veth
pair; the other end is enslaved to a bridge in the root namespace), its own address and
its own loopback. Processes started on a host reach the others only over the bridge, by
address, as they would across machines:

    services   10.N.M.10   redis-server and a private PostgreSQL cluster
    dispatch   10.N.M.11   the dispatcher and the web app
    w1..wK     10.N.M.21+  rq workers
    (root)     10.N.M.1    the bridge itself: the drill's own audit reads through it

Faults are the network's own:

- ``Host.cut()`` takes the host's link down (``ip link set ... down`` on the root end):
  every connection of every process on it stalls, as when a cable or a switch port dies.
  Nothing is reset; packets simply stop. ``heal()`` brings it back.
- ``Host.block(address, port)`` drops the host's packets to one service, silently, with
  an nftables rule in the host's own namespace: the partial partitions (PostgreSQL
  reachable but not Redis, and the reverse). ``unblock()`` removes every rule.
- A slow or lossy path is a TCP proxy placed on it (``scripts/drills/proxy.py``): this
  kernel has no ``netem`` qdisc.

Names carry the drill's pid (``sbn<pid>-w1``), so several drills can run at once and a
drill killed before its clean-up is swept by the next one (``sweep_stale``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PREFIX = "sbn"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVICES_INDEX = 10
DISPATCH_INDEX = 11
FIRST_WORKER_INDEX = 21


class NetnsUnavailable(RuntimeError):
    """This machine cannot build the harness (no ``ip netns``, no nftables, not root)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def unavailable_reason() -> str | None:
    """Why network namespaces cannot be used here, or None when they can: the check a
    test's skip and the drill's one-line error both print."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            hint = "iproute2" if tool == "ip" else "nftables"
            return f"`{tool}` is not installed (apt-get install {hint})"
    probe = f"{PREFIX}probe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip() or made.returncode}"
    try:
        table = subprocess.run(
            ["ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe"],
            capture_output=True,
            text=True,
            check=False,
        )
        if table.returncode != 0:
            return f"nftables does not work in a namespace: {table.stderr.strip()}"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def sweep_stale() -> list[str]:
    """Delete namespaces and bridges left by drills whose process is gone (a drill killed
    before its clean-up); returns what was removed."""
    removed = []
    listed = _ip("netns", "list", check=False).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        pid = _owner_pid(name)
        if pid is not None and not _alive(pid):
            _ip("netns", "del", name, check=False)
            removed.append(name)
    for line in _ip("-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        pid = _owner_pid(name.removesuffix("br"))
        if pid is not None and not _alive(pid):
            _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(PREFIX):
        return None
    digits = name[len(PREFIX) :].split("-")[0]
    return int(digits) if digits.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Host:
    """One network namespace on the bridge: a machine with one network card."""

    name: str
    namespace: str
    address: str
    link: str  # the veth end on the bridge, in the root namespace
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    blocked: list[tuple[str, int | None]] = field(default_factory=list)

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run on this host (``ip netns exec`` execs it: the pid is argv's)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def popen(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` on this host, its output to ``log`` (or discarded)."""
        out: IO[bytes] | int = log.open("ab") if log else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                self.command(argv),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        self.processes.append(process)
        return process

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on this host to the end (text output captured)."""
        kwargs.setdefault("capture_output", True)
        return subprocess.run(self.command(argv), text=True, check=False, **kwargs)

    # --- faults --------------------------------------------------------------------

    def cut(self) -> None:
        """The host's cable pulled: its link goes down, every packet stops both ways."""
        _ip("link", "set", self.link, "down")

    def heal(self) -> None:
        _ip("link", "set", self.link, "up")

    def block(self, address: str, port: int | None = None) -> None:
        """Silently drop this host's packets to ``address`` (one ``port`` of it, or all):
        connections to it hang, as across a firewall that drops, not rejects."""
        if not self.blocked:
            self._nft("add", "table", "inet", "drill")
            self._nft(
                "add", "chain", "inet", "drill", "out",
                "{ type filter hook output priority 0 ; policy accept ; }",
            )  # fmt: skip
        rule = ["ip", "daddr", address] + (["tcp", "dport", str(port)] if port else [])
        self._nft("add", "rule", "inet", "drill", "out", *rule, "drop")
        self.blocked.append((address, port))

    def unblock(self) -> None:
        """Remove every rule ``block`` added."""
        if self.blocked:
            self._nft("delete", "table", "inet", "drill")
            self.blocked.clear()

    def _nft(self, *args: str) -> None:
        done = self.run(["nft", *args])
        if done.returncode != 0:
            raise NetnsUnavailable(f"nft {' '.join(args)} on {self.name}: {done.stderr.strip()}")

    def stop_processes(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(10)


class Network:
    """A bridge and the hosts on it; ``close()`` (or the context manager) removes all.

    The subnet is chosen from the drill's pid so that drills running at once do not share
    addresses: ``10.(100 + pid % 100).(pid // 100 % 250).0/24``."""

    def __init__(self, pid: int | None = None) -> None:
        reason = unavailable_reason()
        if reason:
            raise NetnsUnavailable(reason)
        sweep_stale()
        self.pid = pid if pid is not None else os.getpid()
        self.tag = f"{PREFIX}{self.pid}"
        self.bridge = f"{self.tag}br"
        self.subnet = f"10.{100 + self.pid % 100}.{self.pid // 100 % 250}"
        self.gateway = f"{self.subnet}.1"
        self.hosts: dict[str, Host] = {}
        if len(self.bridge) > 15:
            raise NetnsUnavailable(f"interface name {self.bridge} is over 15 characters")
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add_host(self, name: str, index: int) -> Host:
        """A new namespace ``<tag>-<name>`` at ``<subnet>.<index>``, linked to the bridge."""
        namespace = f"{self.tag}-{name}"
        link = f"{self.tag}v{index}"
        peer = f"{self.tag}p{index}"
        address = f"{self.subnet}.{index}"
        _ip("netns", "add", namespace)
        _ip("link", "add", link, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", namespace)
        _ip("-n", namespace, "link", "set", peer, "name", "eth0")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "route", "add", "default", "via", self.gateway)
        _ip("link", "set", link, "master", self.bridge)
        _ip("link", "set", link, "up")
        host = Host(name, namespace, address, link)
        self.hosts[name] = host
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop_processes()
        for host in self.hosts.values():
            _ip("netns", "del", host.namespace, check=False)
            _ip("link", "del", host.link, check=False)
        self.hosts.clear()
        _ip("link", "del", self.bridge, check=False)


@dataclass
class Cluster:
    """The drills' standard layout: services, a dispatcher and ``workers`` worker hosts."""

    network: Network
    services: Host
    dispatcher: Host
    workers: list[Host]

    @classmethod
    def build(cls, worker_hosts: int = 3) -> Cluster:
        network = Network()
        try:
            services = network.add_host("svc", SERVICES_INDEX)
            dispatcher = network.add_host("disp", DISPATCH_INDEX)
            workers = [
                network.add_host(f"w{i + 1}", FIRST_WORKER_INDEX + i) for i in range(worker_hosts)
            ]
        except BaseException:
            network.close()
            raise
        return cls(network, services, dispatcher, workers)

    def close(self) -> None:
        self.network.close()


@contextmanager
def cluster(worker_hosts: int = 3) -> Iterator[Cluster]:
    built = Cluster.build(worker_hosts)
    try:
        yield built
    finally:
        built.close()


# --- services on the services host -------------------------------------------------------


def wait_port(address: str, port: int, timeout: float, what: str) -> None:
    """Wait until ``address:port`` accepts a TCP connection from here (the root
    namespace, over the bridge)."""
    import socket

    deadline = time.monotonic() + timeout
    while True:
        with suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise NetnsUnavailable(f"{what} did not listen on {address}:{port} in {timeout:.0f} s")
        time.sleep(0.1)


def terminate(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM (a server's clean shutdown), SIGKILL after ``grace`` seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def pg_bin() -> Path:
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")))
    if not found:
        raise NetnsUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1]


class HostPostgres:
    """A private PostgreSQL cluster on a host: initdb into a temp folder (owned by the
    ``postgres`` user, as the server refuses to run as root), listening on the host's
    address, trust auth for the subnet. Nothing is shared with the machine's server."""

    def __init__(
        self, host: Host, tmp: Path, port: int = 5432, settings: Sequence[str] = ()
    ) -> None:
        self.host = host
        self.port = port
        # Extra ``-c name=value`` server settings (the capacity bench preloads
        # pg_stat_statements to count statements).
        self.settings = list(settings)
        self.data = tmp / "pgdata"
        self.log = tmp / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host.address}:{self.port}/snakebench"

    def _as_postgres(self, argv: Sequence[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv]

    def start(self, max_connections: int = 200) -> None:
        if not self.data.exists():
            self.data.mkdir(parents=True)
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.data.parent, "postgres", "postgres")
            initdb = [str(pg_bin() / "initdb"), "-D", str(self.data), "-A", "trust",
                      "-U", "postgres", "--no-sync"]  # fmt: skip
            done = subprocess.run(self._as_postgres(initdb), capture_output=True, text=True)
            if done.returncode != 0:
                raise NetnsUnavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
            subnet = self.host.address.rsplit(".", 1)[0] + ".0/24"
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {subnet} trust\n")
        server = [
            str(pg_bin() / "postgres"), "-D", str(self.data),
            "-c", f"listen_addresses={self.host.address}",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.data}",
            "-c", f"max_connections={max_connections}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        for setting in self.settings:
            server += ["-c", setting]
        self.process = self.host.popen(self._as_postgres(server), log=self.log)
        wait_port(self.host.address, self.port, 30, "the host's PostgreSQL")
        createdb = [str(pg_bin() / "createdb"), "-h", str(self.data), "-p", str(self.port)]
        deadline = time.monotonic() + 30
        while True:  # the port answers before the server accepts logins ("starting up")
            created = subprocess.run(
                self._as_postgres([*createdb, "snakebench"]),
                capture_output=True,
                text=True,
            )
            if "starting up" not in created.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise NetnsUnavailable(f"createdb failed: {created.stderr.strip()}")

    def stop(self) -> None:
        terminate(self.process, 20)
        self.process = None


class HostRedis:
    """A private redis-server on a host, bound to its address; nothing on disk. The same
    interface as ``drills.common.RedisServer`` (``url``, ``start``, ``stop``), so an
    ``Env`` takes either."""

    def __init__(self, host: Host, tmp: Path, port: int = 6379, extra: Sequence[str] = ()) -> None:
        from snakebench.localstack.redis_server import find_redis_server

        self.host = host
        self.tmp = tmp
        self.port = port
        self.extra = list(extra)
        self.binary = str(find_redis_server())
        self.url = f"redis://{host.address}:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host.address,
            "--protected-mode", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmp),
            "--daemonize", "no",
            *self.extra,
        ]  # fmt: skip
        log = self.tmp / f"redis-{self.host.name}-{self.port}-{self.starts}.log"
        self.process = self.host.popen(command, log=log)
        wait_port(self.host.address, self.port, 10, "the host's redis-server")

    def stop(self) -> None:
        """SIGKILL: whatever it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None
