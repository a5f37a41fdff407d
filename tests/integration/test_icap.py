"""The antivirus agent's ICAP engine ([[antivirus.engines]] type = "icap") against a real c-icap
(Debian c-icap with its virus_scan service, scanning through clamd_mod with the clamd fixture's
home-made signatures — icap.py), and against a hostile ICAP server written for the tests.
Also the verdict cache ([antivirus] cache_ttl): the same payload five times costs one scan."""
import pytest

from clamd import Clamd, EICAR_SIGNATURE
from conftest import wait_for
from icap import CIcap, HostileIcap, icap_options
from test_antivirus import clean_message, delivered, infected_message, send


@pytest.fixture
def engines():
    started = []

    class Engines:
        def clamd(self, **kw):
            c = Clamd(**kw)
            started.append(c)
            return c.start()

        def cicap(self, signatures=True):
            c = CIcap(self.clamd(signatures=signatures))
            started.append(c)
            return c.start()

        def hostile(self, mode, **kw):
            h = HostileIcap(mode, **kw)
            started.append(h)
            return h

    yield Engines()
    for e in reversed(started):
        e.stop() if isinstance(e, HostileIcap) else e.cleanup()


def config(*engines, cache_ttl=None, timeout="20s"):
    """engines: (name, type, address[, extra lines])."""
    lines = ["[antivirus]"]
    if cache_ttl is not None:
        lines.append(f'cache_ttl = "{cache_ttl}"')
    for name, kind, address, *extra in engines:
        lines += ["[[antivirus.engines]]", f'name = "{name}"', f'type = "{kind}"', f'address = "{address}"',
                  f'timeout = "{timeout}"'] + list(extra)
    return "\n".join(lines) + "\n"


def server(rampart_factory, *engines, name="icap", **kw):
    return rampart_factory(name, extra_config=config(*engines, **kw), listener_keys={"filters": True})


def verdicts(srv):
    return [e for e in srv.log_events("filter.verdict") if e.get("agent") == "antivirus"]


def test_clean_passes_and_eicar_is_refused_through_cicap(rampart_factory, engines):
    icap = engines.cicap()
    srv = server(rampart_factory, ("cicap", "icap", icap.address))
    code, text = send(srv, clean_message("clean via icap"))
    assert code == 250, text
    delivered(srv, 1, "clean via icap")
    code, text = send(srv, infected_message())
    assert code == 554, text
    assert text.decode() == f"5.7.1 message refused: virus found: {EICAR_SIGNATURE}", text
    assert verdicts(srv)[-1]["reason"] == f"engine cicap found {EICAR_SIGNATURE}", verdicts(srv)
    assert not [m for m in srv.maildir_messages() if b"Subject: infected" in m]
    wait_for(lambda: icap.scans() >= 2, 10, what="c-icap's access log")
    assert icap.scans() == 2, icap.diagnostics()


def test_reqmod_through_cicap(rampart_factory, engines):
    icap = engines.cicap()
    srv = server(rampart_factory, ("cicap", "icap", icap.address, 'service = "avscan"', 'method = "reqmod"'))
    code, text = send(srv, infected_message())
    assert code == 554 and EICAR_SIGNATURE.encode() in text, text
    code, text = send(srv, clean_message("clean reqmod"))
    assert code == 250, text
    delivered(srv, 1, "clean reqmod")
    wait_for(lambda: icap.scans() >= 2, 10, what="c-icap's access log")
    assert "REQMOD" in (icap.dir / "log" / "access.log").read_text()


def test_preview_after_options_through_cicap(rampart_factory, engines):
    # c-icap asks for a 1024-byte preview in its OPTIONS: a short message goes whole in the
    # preview ("0; ieof"), a long one is finished after c-icap's 100 Continue. With
    # virus_scan.StartSendingDataAfter at its default (0) c-icap 0.5 began its answer right
    # after the preview and then had no infection headers to give: "replaced", refused but
    # unnamed. The fixture sets it as high as MaxObjectSize, as docs/configuration.md says.
    icap = engines.cicap()
    srv = server(rampart_factory, ("cicap", "icap", icap.address, "preview = true"))
    assert b"Preview: 1024" in icap_options(icap.port)
    padding = b"padding line, nothing in it\r\n" * 200   # about 6 KiB before the attachment
    long_infected = infected_message("long").replace(b"see the attachment\r\n", b"see the attachment\r\n" + padding)
    assert len(long_infected) > 4096
    for data in (infected_message(), long_infected):
        code, text = send(srv, data)
        assert code == 554 and text.decode() == f"5.7.1 message refused: virus found: {EICAR_SIGNATURE}", text
    for subject in ("short clean", "long clean"):
        code, text = send(srv, clean_message(subject, b"hello\r\n" if subject == "short clean" else padding))
        assert code == 250, text
        delivered(srv, 1, subject)
    wait_for(lambda: icap.scans() >= 4, 10, what="c-icap's access log")
    assert icap.scans() == 4, icap.diagnostics()
    # Each scan asked OPTIONS first (the fixture's readiness probe is one more).
    options = (icap.dir / "log" / "access.log").read_text().count(" OPTIONS avscan ")
    assert options >= 5, icap.diagnostics()


@pytest.mark.parametrize("finder", ["icap", "clamd"])
def test_clamd_and_icap_at_once_one_says_infected(rampart_factory, engines, finder):
    # Only one of the two engines has the signatures; the message is refused either way.
    clam = engines.clamd(signatures=(finder == "clamd"))
    icap = engines.cicap(signatures=(finder == "icap"))
    srv = server(rampart_factory, ("clamav", "clamd", clam.address), ("cicap", "icap", icap.address))
    code, text = send(srv, infected_message())
    assert code == 554 and EICAR_SIGNATURE.encode() in text, text
    name = "cicap" if finder == "icap" else "clamav"
    assert verdicts(srv)[-1]["reason"] == f"engine {name} found {EICAR_SIGNATURE}", verdicts(srv)
    code, text = send(srv, clean_message("both clean"))
    assert code == 250, text
    delivered(srv, 1, "both clean")
    assert not [m for m in srv.maildir_messages() if b"Subject: infected" in m]


def test_icap_engine_killed_fails_closed_and_the_retry_is_accepted(rampart_factory, engines):
    clam = engines.clamd()
    icap = engines.cicap()
    srv = server(rampart_factory, ("clamav", "clamd", clam.address), ("cicap", "icap", icap.address))
    code, text = send(srv, clean_message("before"))
    assert code == 250, text
    delivered(srv, 1, "before")
    icap.kill()
    data = clean_message("retried")
    code, text = send(srv, data)
    assert code == 451, text
    assert text.decode() == "4.7.1 virus scan unavailable; try again later", text
    errors = srv.log_events("antivirus.engine_error")
    assert errors and errors[-1]["engine"] == "cicap" and "cannot connect to the ICAP server" in errors[-1]["error"], errors
    assert srv.spool_count() == 0, "nothing kept: the client still has the message"
    assert not [m for m in srv.maildir_messages() if b"Subject: retried" in m]
    # The failure was not cached: once c-icap is back, the client's retry goes through.
    icap.start()
    code, text = send(srv, data)
    assert code == 250, text
    [stored] = delivered(srv, 1, "retried")
    assert stored.endswith(data)


@pytest.mark.parametrize("mode,error", [
    ("garbage", "not an ICAP status line"),
    ("error", "ICAP server answered 500 Server Error"),
    ("cut", "closed the connection in the middle of its reply"),
    ("hang", "no verdict from the ICAP server within 1000 ms"),
])
def test_hostile_icap_server_fails_closed(rampart_factory, engines, mode, error):
    hostile = engines.hostile(mode)
    srv = server(rampart_factory, ("bad", "icap", hostile.address), timeout="1s")
    for attempt in range(2):   # failures are never cached: asked again each time
        code, text = send(srv, clean_message("hostile"))
        assert code == 451 and text == b"4.7.1 virus scan unavailable; try again later", text
    errors = srv.log_events("antivirus.engine_error")
    assert len(errors) == 2 and errors[0]["engine"] == "bad" and error in errors[0]["error"], errors
    assert hostile.requests == 2 or mode == "hang" and hostile.requests >= 1
    assert srv.spool_count() == 0 and not srv.maildir_messages()


def test_icap_server_on_a_unix_socket(rampart_factory, engines, tmp_path):
    peer = engines.hostile("clean", unix_path=tmp_path / "icap.sock")
    srv = server(rampart_factory, ("local", "icap", peer.address, 'service = "scan/av"'))
    data = clean_message("over unix")
    code, text = send(srv, data)
    assert code == 250, text
    delivered(srv, 1, "over unix")
    [request] = peer.received
    assert request.startswith(b"RESPMOD icap://localhost/scan/av ICAP/1.0\r\nHost: localhost\r\n"), request[:200]
    # The message is the encapsulated response's body, in one chunk.
    length = int(request.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    body = request[request.index(b"\r\n\r\n", request.index(b"Content-Length: ")) + 4:]
    size, chunk = body.split(b"\r\n", 1)
    assert int(size, 16) == length and chunk == body[len(size) + 2:]
    assert chunk.endswith(data + b"\r\n0\r\n\r\n") and len(chunk) == length + 7, body


def test_the_same_payload_five_times_is_scanned_once(rampart_factory, engines):
    clam = engines.clamd()
    icap = engines.cicap()
    srv = server(rampart_factory, ("cicap", "icap", icap.address), cache_ttl="5m")
    for _ in range(5):
        code, text = send(srv, infected_message())
        assert code == 554 and EICAR_SIGNATURE.encode() in text, text
    reasons = [v["reason"] for v in verdicts(srv)]
    assert reasons == [f"engine cicap found {EICAR_SIGNATURE}"] + [f"engine cicap found {EICAR_SIGNATURE} (cached)"] * 4, reasons
    # c-icap writes its access log line after answering: a different payload (scanned), and once
    # its line is there, every earlier one is too.
    code, text = send(srv, infected_message("another payload"))
    assert code == 554, text
    wait_for(lambda: icap.scans() >= 2, 10, what="c-icap's access log")
    assert icap.scans() == 2, icap.diagnostics()
    # The same for clamd in a second server; and with the cache off every message is scanned.
    off = server(rampart_factory, ("cicap", "icap", icap.address), ("clamav", "clamd", clam.address), cache_ttl="0s",
                 name="icap-nocache")
    for _ in range(3):
        code, text = send(off, infected_message())
        assert code == 554, text
    wait_for(lambda: icap.scans() >= 5, 10, what="c-icap's access log")
    assert icap.scans() == 5, icap.diagnostics()
    assert not [v for v in verdicts(off) if "cached" in v["reason"]]


def test_icap_keys_on_a_clamd_engine_are_a_load_error(tmp_path):
    import subprocess
    from conftest import RAMPART_BIN
    cfg = tmp_path / "av.toml"
    cfg.write_text('[antivirus]\n[[antivirus.engines]]\nname = "x"\ntype = "clamd"\naddress = "127.0.0.1:3310"\n'
                   'service = "avscan"\n')
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stdout + r.stderr
    assert 'service, method and preview are for type = "icap" only' in r.stderr + r.stdout, r.stderr + r.stdout
