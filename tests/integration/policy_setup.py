"""Helpers for the role, check and brakes tests: a whole configuration per test (role,
listeners, smart host) written for a Rampart fixture instance, and the directory CLI."""
import subprocess

from conftest import DOMAIN, RAMPART_BIN, toml_str


def configure(srv, role, listeners, smarthost_port=None, extra="", threads=2):
    """Write srv's configuration: `listeners` is a list of (name, port, toml_body)."""
    lines = [
        "[server]",
        f"role = {toml_str(role)}",
        f"hostname = {toml_str(srv.hostname)}",
        f"data_dir = {toml_str(srv.data_dir)}",
        f"log_file = {toml_str(srv.log_path)}",
        f"threads = {threads}",
        "run_as_root = true",  # tests run as root in CI (test_privileges.py proves the drop)
        "",
        "[[domains]]",
        f"name = {toml_str(DOMAIN)}",
        'type = "authoritative"',
        "",
    ]
    for name, port, body in listeners:
        lines += ["[[listeners]]", f"name = {toml_str(name)}"]
        if port:
            lines.append(f'bind = ["127.0.0.1:{port}"]')
        lines += [body, ""]
    if smarthost_port:
        lines += ["[[send_connectors]]", 'name = "out"', 'address_spaces = ["*"]', 'route = "smarthost"',
                  f'smarthosts = ["127.0.0.1:{smarthost_port}"]', 'tls = "none"', ""]
    lines.append(extra)
    srv.config_path.write_text("\n".join(lines))
    ports = [(n, p) for n, p, _ in listeners if p]
    if ports:
        srv.port = ports[0][1]
        srv.extra_listeners = [(n, p, "starttls") for n, p in ports[1:]]


def cli(srv, *args, stdin=None, check=True):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def add_user(srv, name, password, *groups):
    args = ["user", "add", name, "--address", f"{name}@{DOMAIN}"]
    for g in groups:
        args += ["--group", g]
    cli(srv, *args, stdin=password + "\n")


def run(*args, timeout=30):
    r = subprocess.run([RAMPART_BIN, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr
