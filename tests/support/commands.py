"""Running tilepress as users do: the installed console script, the workflow, free ports."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path


def tilepress_command() -> list[str]:
    """The installed console script, run with this interpreter's environment."""
    script = Path(sys.executable).with_name("tilepress")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tilepress.cli"]


def tilepress_env() -> dict[str, str]:
    """This environment with this interpreter's scripts first on PATH (the workflow's rules
    call `tilepress`)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_workflow(
    workdir: Path, config: Path, *extra: str, cores: int | None = 2, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run `tilepress run` (the real Snakemake engine) in ``workdir``; ``cores=None`` leaves
    the core count to Snakemake's profile (an executor plugin's runs)."""
    cores_option = [] if cores is None else ["--cores", str(cores)]
    return subprocess.run(
        [*tilepress_command(), "run", "--configfile", str(config), *cores_option, *extra],
        cwd=workdir,
        env=tilepress_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
