"""Real servers and external tools for the server tests and the serving benchmark.

`tilepress serve` and nginx (with the shipped ``deploy/nginx/tilepress.conf``) run as real
processes on 127.0.0.1; tools are found through an environment variable, a fixed path or
``PATH``. Tests skip when a tool is missing, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.commands import free_port, tilepress_command

REPO = Path(__file__).resolve().parents[2]
NGINX_SITE = REPO / "deploy" / "nginx" / "tilepress.conf"
NODE_BIN = REPO / "node_modules" / ".bin"

# tool: (environment variable, fixed paths tried before PATH, how to install it)
TOOLS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "chromium": ("TILEPRESS_CHROMIUM", ("/usr/bin/chromium",), "apt-get install chromium"),
    "nginx": ("TILEPRESS_NGINX", ("/usr/sbin/nginx",), "apt-get install nginx"),
    "wrk": ("TILEPRESS_WRK", ("/usr/bin/wrk",), "apt-get install wrk"),
    "ogrinfo": ("TILEPRESS_OGRINFO", ("/usr/bin/ogrinfo",), "apt-get install gdal-bin"),
    "node": ("TILEPRESS_NODE", ("/usr/bin/node",), "apt-get install nodejs"),
    "gl-style-validate": (
        "TILEPRESS_GL_STYLE_VALIDATE",
        (str(NODE_BIN / "gl-style-validate"),),
        "npm install --no-save --no-package-lock @maplibre/maplibre-gl-style-spec "
        "(in the repository root)",
    ),
}


def in_ci() -> bool:
    """Whether this is a CI run, where a missing tool is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def find_tool(name: str) -> str | None:
    """The path of an external tool, or None."""
    env, fixed, _ = TOOLS[name]
    chosen = os.environ.get(env)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for candidate in fixed:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The path of an external tool; skips the test when missing, fails it under CI."""
    path = find_tool(name)
    if path is not None:
        return path
    env, _, install = TOOLS[name]
    message = f"{name} not found: {install}, or set {env} to its path"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def require_module(module: str, install: str) -> None:
    """Skip (fail under CI) when a Python package is not installed."""
    try:
        __import__(module)
    except ImportError:
        message = f"the Python package {module} is not installed: {install}"
        if in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll ``url`` until it answers (any HTTP status) or the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"the server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} after {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, and everything it started."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


@contextlib.contextmanager
def running_tilepress(dist: Path, *args: str, workers: int = 1) -> Iterator[str]:
    """`tilepress serve DIST` on a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEPRESS_")}
    command = [*tilepress_command(), "-q", "serve", str(dist), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/health", process)
        yield base
    finally:
        stop(process)


def nginx_site(root: Path, port: int) -> str:
    """The shipped nginx server block, listening on 127.0.0.1:PORT and serving ``root``."""
    text = NGINX_SITE.read_text(encoding="utf-8")
    replacements = {
        "    listen 80;\n": f"    listen 127.0.0.1:{port};\n",
        "    root /srv/tilepress/dist;\n": f"    root {root};\n",
    }
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{NGINX_SITE} no longer contains {old.strip()!r}")
        text = text.replace(old, new)
    return text


def static_site(root: Path, port: int) -> str:
    """A plain static site, as any web host has: files under ``root`` with nginx's own
    media types and Range requests, nothing tilepress-specific."""
    return f"""
server {{
    listen 127.0.0.1:{port};
    root {root};
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    location / {{ try_files $uri $uri/ =404; }}
}}
"""


@contextlib.contextmanager
def running_nginx(
    nginx: str, root: Path, workdir: Path, *, workers: int = 2, plain: bool = False
) -> Iterator[str]:
    """nginx serving ``root`` with the shipped configuration (``plain``: as a plain static
    host, `static_site`); yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = workdir / "tilepress.conf"
    text = static_site(root, port) if plain else nginx_site(root, port)
    site.write_text(text, encoding="utf-8")
    temp = {name: workdir / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    main = f"""
worker_processes {workers};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
daemon off;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {temp["client"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {site};
}}
"""
    conf = workdir / "nginx.conf"
    conf.write_text(main, encoding="utf-8")
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
