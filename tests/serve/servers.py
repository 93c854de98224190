"""Real servers on loopback for the serving tests, and a raw HTTP/1.1 client.

Each server is a plain subprocess on a free port, polled until it answers, and
terminated in ``finally``. The client writes the request line byte for byte (so
traversal attempts reach the server exactly as written) and reads until the server
closes the connection.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(
    port: int,
    target: str | bytes,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    timeout: float = 10.0,
) -> Reply:
    """Send one request (``Connection: close``) and read the whole reply."""
    raw_target = target if isinstance(target, bytes) else target.encode("latin-1")
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in (headers or {}).items()]
    lines.append(b"Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        parsed[key] = f"{parsed[key]}, {value.strip()}" if key in parsed else value.strip()
    status = int(status_line.split()[1])
    if parsed.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    if method == "HEAD" or status in (304, 204):
        body = b""
    return Reply(status, parsed, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"server not ready on {port} in {timeout} s:\n{log.read_text()}")


@contextlib.contextmanager
def running(
    argv: Sequence[str], port: int, workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[int]:
    """Run ``argv`` (which must listen on ``port``) until the block ends; gives its pid."""
    log = workdir / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=workdir,
        )
    try:
        wait_ready(port, proc, log)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def python_server(
    kind: str, suffix: str = "", module: str = "apps", where: Path = HERE
) -> tuple[list[str], int]:
    """The command line for ``kind`` (gunicorn, uvicorn, granian-wsgi, granian-asgi)
    serving ``apps.py`` (this directory): ``apps:wsgi``/``apps:asgi`` + ``suffix``."""
    port = free_port()
    bind = ["127.0.0.1", str(port)]
    if kind == "gunicorn":
        argv = [str(BIN / "gunicorn"), "-w", "1", "--threads", "2", "-b", ":".join(bind)]
        argv += ["--chdir", str(where), f"{module}:wsgi{suffix}"]
    elif kind == "uvicorn":
        argv = [str(BIN / "uvicorn"), "--host", bind[0], "--port", bind[1]]
        argv += ["--log-level", "warning", "--app-dir", str(where), f"{module}:asgi{suffix}"]
    elif kind in ("granian-wsgi", "granian-asgi"):
        interface = kind.split("-")[1]
        argv = [str(BIN / "granian"), "--interface", interface, "--host", bind[0]]
        argv += ["--port", bind[1], "--workers", "1", "--working-dir", str(where)]
        argv += [f"{module}:{interface}{suffix}"]
    else:
        raise ValueError(kind)
    return argv, port


def have(program: str) -> bool:
    return shutil.which(program) is not None or (BIN / program).exists()


def web_server(kind: str, root: Path, workdir: Path) -> tuple[list[str], int, dict[str, str]]:
    """The command line running nginx or Caddy with corral's generated configuration."""
    from corral.serve.webserver import caddy_config, nginx_config  # noqa: PLC0415

    port = free_port()
    listen = f"127.0.0.1:{port}"
    if kind == "nginx":
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_config(root, "/static/", listen=listen))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        return [nginx, "-e", "stderr", "-p", str(workdir), "-c", str(conf)], port, {}
    conf = workdir / "Caddyfile"
    conf.write_text(caddy_config(root, "/static/", listen=listen))
    env = {"XDG_CONFIG_HOME": str(workdir), "XDG_DATA_HOME": str(workdir)}
    caddy = shutil.which("caddy") or "caddy"
    return [caddy, "run", "--config", str(conf), "--adapter", "caddyfile"], port, env
