"""Benchmark: `tilepress serve` against nginx serving the same tiles, with the same load.

Both servers serve the same built map (the reference map, built here unless ``--dist`` names a
``tilepress run`` output folder); nginx runs the shipped ``deploy/nginx/tilepress.conf``.
wrk asks each for random existing tiles (every ``.pbf`` in the map's tile folder, uniformly,
``Accept-Encoding: gzip`` as browsers send) over N connections; the two servers take turns.
Prints requests/s, the ratio, latency percentiles and errors, and whether tilepress reaches
half of nginx's requests/s with no error. Exit status: 0 when both ran, 1 when a server failed,
2 when a tool is missing.

    .venv/bin/python tests/benchmarks/bench_serve.py                     # 32 connections, 10 s
    .venv/bin/python tests/benchmarks/bench_serve.py --dist dist --json bench-serve.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import REFERENCE_CONFIG
from tests.support.commands import run_workflow
from tests.support.servers import find_tool, running_nginx, running_tilepress

TARGET_RATIO = 0.5

WRK_SCRIPT = """
-- Random existing tiles, one path per line in the file below; a fixed seed per thread.
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(1000 + seed)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], {["Accept-Encoding"] = "gzip"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, '
    .. '"p90_us": %%d, "p99_us": %%d, "max_us": %%d, "connect": %%d, "read": %%d, '
    .. '"write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, e.connect, e.read,
    e.write, e.status, e.timeout))
end
"""


def _tile_paths(map_dir: Path) -> list[str]:
    tiles = map_dir / "tiles"
    found = (f"/{map_dir.name}/{p.relative_to(map_dir).as_posix()}" for p in tiles.rglob("*.pbf"))
    return sorted(found)


def _map_dir(dist: Path) -> Path:
    for child in sorted(dist.iterdir()):
        if (child / "tiles.json").is_file() and (child / "tiles").is_dir():
            return child
    raise SystemExit(f"{dist} holds no map with a tiles/ folder: build one with `tilepress run`")


def _wrk(
    wrk: str, url: str, script: Path, args: argparse.Namespace, seconds: int
) -> dict[str, Any]:
    """One wrk run; its numbers from the script's ``done`` hook."""
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += ["--timeout", "5s", "-s", str(script), url]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRK-JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("WRK-JSON "))
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            data["errors"] = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return data
    raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def _check_same_tile(tilepress: str, nginx: str, path: str) -> None:
    """Both servers send the same bytes with the same encoding for one tile."""
    a_status, a_headers, a_body = _fetch(tilepress + path)
    b_status, b_headers, b_body = _fetch(nginx + path)
    if (a_status, a_body) != (b_status, b_body) or a_headers.get("content-encoding") != "gzip":
        raise RuntimeError(f"{path}: tilepress and nginx send different answers")
    if b_headers.get("content-encoding") != "gzip":
        raise RuntimeError(f"{path}: nginx does not send Content-Encoding: gzip")


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _row(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name:<22}{r['rps']:>12,.0f}{r['p50_us'] / 1000:>10.2f}{r['p90_us'] / 1000:>10.2f}"
        f"{r['p99_us'] / 1000:>10.2f}{r['errors']:>9,d}{r['requests']:>12,d}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dist", type=Path, help="a `tilepress run` output folder (default: build one)"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=1, help="timed runs per server, alternating")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="tilepress and nginx workers")
    parser.add_argument("--json", type=Path, help="write everything measured as JSON")
    args = parser.parse_args(argv)

    tools = {name: find_tool(name) for name in ("wrk", "nginx")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        names = " ".join(missing)
        print(f"missing: {names} (apt-get install {names})", file=sys.stderr)
        return 2
    wrk, nginx = str(tools["wrk"]), str(tools["nginx"])

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        dist = args.dist
        if dist is None:
            print("building the reference map (tilepress run) ...", flush=True)
            (work / "build").mkdir()
            result = run_workflow(work / "build", REFERENCE_CONFIG)
            if result.returncode != 0:
                print(result.stderr[-3000:], file=sys.stderr)
                return 1
            dist = work / "build" / "dist"
        dist = dist.resolve()
        map_dir = _map_dir(dist)
        paths = _tile_paths(map_dir)
        paths_file = work / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
        script = work / "random-tiles.lua"
        script.write_text(WRK_SCRIPT % {"paths": paths_file}, encoding="utf-8")

        results: dict[str, list[dict[str, Any]]] = {"tilepress": [], "nginx": []}
        with (
            running_tilepress(dist, workers=args.workers) as tilepress_url,
            running_nginx(nginx, dist, work / "nginx", workers=args.workers) as nginx_url,
        ):
            _check_same_tile(tilepress_url, nginx_url, paths[len(paths) // 2])
            urls = {"tilepress": tilepress_url, "nginx": nginx_url}
            load_before = _load_average()
            for url in urls.values():
                _wrk(wrk, url, script, args, args.warmup)
            for _ in range(args.rounds):
                for name, url in urls.items():
                    results[name].append(_wrk(wrk, url, script, args, args.duration))
                    time.sleep(0.5)
            load_after = _load_average()

    best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
    median = {
        name: sorted(r["rps"] for r in runs)[len(runs) // 2] for name, runs in results.items()
    }
    ratio = median["tilepress"] / median["nginx"]
    errors = sum(r["errors"] for r in results["tilepress"])
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}, load average {load_before} before, {load_after} after"
    )
    print(
        f"{map_dir.name}: {len(paths):,} tiles; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s (random existing tiles, Accept-Encoding: gzip); "
        f"{args.workers} workers each; {args.rounds} round(s), median shown\n"
    )
    print(f"  {'server':<22}{'requests/s':>12}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}"
          f"{'errors':>9}{'requests':>12}")  # fmt: skip
    for name in ("tilepress", "nginx"):
        runs = sorted(results[name], key=lambda r: r["rps"])
        print(_row(f"{name} serve" if name == "tilepress" else name, runs[len(runs) // 2]))
    print(f"\n  requests/s ratio tilepress/nginx: {ratio:.2f}")
    passed = ratio >= TARGET_RATIO and errors == 0
    print(
        f"  [{'PASS' if passed else 'FAIL'}] at least {TARGET_RATIO:g} x nginx's requests/s "
        f"with zero errors (ratio {ratio:.2f}, {errors} errors)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"results": results, "best": best, "ratio": ratio, "passed": passed,
                 "tiles": len(paths), "args": {k: str(v) for k, v in vars(args).items()}},
                indent=2,
            ),
            encoding="utf-8",
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
