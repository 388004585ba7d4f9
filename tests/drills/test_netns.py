"""The netns harness itself (scripts/drills/netns.py): hosts reach each other only over
the bridge, by address, and its faults do what the drills rely on: ``block`` drops one
service's packets and no other's, ``cut`` stops every packet, ``heal`` and ``unblock``
bring them back. Skipped, with the reason, where the machine forbids namespaces."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from drills.netns import Cluster, HostRedis, cluster, unavailable_reason

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no netns here: {REASON}")

PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5).close()
    print("open")
except OSError as exc:
    print(type(exc).__name__)
"""


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(worker_hosts=3) as built:
        redis = HostRedis(built.services, tmp_path_factory.mktemp("netns"))
        redis.start()
        yield built
        redis.stop()


def reach(hosts: Cluster, name: str, port: int) -> str:
    host = next(h for h in [hosts.dispatcher, *hosts.workers] if h.name == name)
    done = host.run([sys.executable, "-c", PROBE, hosts.services.address, str(port)])
    return done.stdout.strip()


def test_every_host_has_its_own_address_on_one_subnet(hosts: Cluster) -> None:
    addresses = [h.address for h in [hosts.services, hosts.dispatcher, *hosts.workers]]
    assert len(set(addresses)) == len(addresses) == 5
    assert len({a.rsplit(".", 1)[0] for a in addresses}) == 1


def test_a_worker_host_reaches_redis_by_address(hosts: Cluster) -> None:
    assert reach(hosts, "w1", 6379) == "open"


def test_loopback_on_a_worker_host_is_its_own(hosts: Cluster) -> None:
    # Redis listens on the services host only: the worker's 127.0.0.1 has nothing there.
    done = hosts.workers[0].run([sys.executable, "-c", PROBE, "127.0.0.1", "6379"])
    assert done.stdout.strip() == "ConnectionRefusedError"


def test_block_drops_one_hosts_packets_to_one_port(hosts: Cluster) -> None:
    w1 = hosts.workers[0]
    w1.block(hosts.services.address, 6379)
    try:
        assert reach(hosts, "w1", 6379) == "TimeoutError"
        assert reach(hosts, "w2", 6379) == "open"
    finally:
        w1.unblock()
    assert reach(hosts, "w1", 6379) == "open"


def test_cut_stops_every_packet_until_healed(hosts: Cluster) -> None:
    w2 = hosts.workers[1]
    w2.cut()
    try:
        assert reach(hosts, "w2", 6379) == "TimeoutError"
        assert reach(hosts, "w3", 6379) == "open"
    finally:
        w2.heal()
    assert reach(hosts, "w2", 6379) == "open"
