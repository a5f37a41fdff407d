"""The perimeter topology (issue 11), first the network itself: the namespaces, links,
routes and the internal firewall of tests/integration/netns.py must give the isolation the
seed describes before any mail test on top of it means anything."""
import time

import pytest

import netns

LISTENER = """
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8); socks.append(s)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def topo():
    why = netns.available()
    if why:
        pytest.fail(f"the topology test needs network namespaces: {why}")
    with netns.Topology() as t:
        yield t


def listen(topo, where, *ports):
    import subprocess
    proc = topo.popen(where, ["/usr/bin/python3", "-c", LISTENER, *map(str, ports)],
                      stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_internet_reaches_only_the_edge_and_the_edge_only_port_25_of_the_hub(topo):
    A = netns.ADDR
    listen(topo, "perimeter", 25, 50636)
    listen(topo, "internal", 25, 2580)
    # The internet reaches the edge's outside address, and nothing inside.
    assert topo.can_connect("internet", A["edge_outside"], 25)
    assert not topo.can_connect("internet", A["hub"], 25)
    assert not topo.can_connect("internet", A["edge_inside"], 25)
    # The edge reaches the hub's port 25 and nothing else of it.
    assert topo.can_connect("perimeter", A["hub"], 25)
    assert not topo.can_connect("perimeter", A["hub"], 2580)
    # Another perimeter host reaches port 25 too: the hub itself must refuse it (the mail
    # tests check that), the firewall cannot tell it from the edge by port.
    assert topo.can_connect("rogue", A["hub_rogue_side"], 25)
    assert not topo.can_connect("rogue", A["hub_rogue_side"], 2580)
    # The hub reaches out to the edge (replication pushes).
    assert topo.can_connect("internal", A["edge_inside"], 50636)
