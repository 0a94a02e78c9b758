#!/usr/bin/env python
"""Benchmark sharded tiling: the reference map to zoom 6, 8 and 10 through the real workflow.

For each maximum zoom, the reference map of ``config/config.yaml`` (zoom 0 to that zoom,
``shards: auto``) is built in a fresh folder by ``tilepress run --cores N -- <its
tiles-report.json>``: the Snakemake jobs ``generalize`` (once), ``tile_part`` (one per shard)
and ``tiles`` (the merge into the z/x/y folder, MBTiles and PMTiles). Printed per zoom range:

* wall time of the whole run (Snakemake's start-up included) and the CPU seconds of its jobs;
* jobs per rule and peak memory per job (the largest ``max_rss`` Snakemake's ``benchmark:``
  recorded for a job of that rule), which must stay flat as the zoom deepens;
* tiles addressed, unique tiles (distinct contents stored once), the dedup ratio (addressed /
  unique), tile bytes and the sizes of the MBTiles and PMTiles files.

Run it with the project's virtualenv (z10 takes several minutes on 2 cores)::

    .venv/bin/python tests/benchmarks/bench_shards.py [--zooms 6 8 10] [--cores 2] [--json out.json]

Exit status: 0 when every run succeeded, 1 when one failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = PROJECT_ROOT / "config" / "config.yaml"
MAP_ID = "ukraine-russia-north-korea"
RULES = ("generalize", "tile_part", "tiles")


def _tilepress() -> list[str]:
    script = Path(sys.executable).with_name("tilepress")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tilepress.cli"]


def _job_benchmarks(workdir: Path) -> dict[str, list[dict[str, float]]]:
    """Snakemake's per-job benchmark rows, by rule."""
    files = {
        "generalize": sorted((workdir / "benchmarks" / "generalize").glob("*.tsv")),
        "tile_part": sorted((workdir / "benchmarks" / MAP_ID).glob("tiles-*.tsv")),
        "tiles": [workdir / "benchmarks" / MAP_ID / "tiles.tsv"],
    }
    rows: dict[str, list[dict[str, float]]] = {}
    for rule, paths in files.items():
        for path in paths:
            with path.open() as handle:
                row = next(csv.DictReader(handle, delimiter="\t"))
            rows.setdefault(rule, []).append(
                {
                    "s": float(row["s"]),
                    "max_rss_mb": float(row["max_rss"]),
                    "cpu_s": float(row["cpu_time"]),
                }
            )
    return rows


def run_one(max_zoom: int, cores: int, keep: Path | None) -> dict[str, Any]:
    """Build the reference map to ``max_zoom`` in a fresh folder; measure it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-shards-z{max_zoom}-"))
    try:
        text = CONFIG_FILE.read_text().replace(
            "zoom: {min: 0, max: 6}", f"zoom: {{min: 0, max: {max_zoom}}}"
        )
        (workdir / "config.yaml").write_text(text)
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        target = f"dist/{MAP_ID}/tiles-report.json"
        started = time.perf_counter()
        result = subprocess.run(
            [
                *_tilepress(),
                "run",
                "--configfile",
                "config.yaml",
                "--cores",
                str(cores),
                "--",
                target,
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-4000:])
            raise RuntimeError(f"z0-{max_zoom}: the workflow failed")
        report = json.loads((workdir / target).read_text())
        jobs = _job_benchmarks(workdir)
        out = workdir / "dist" / MAP_ID
        return {
            "max_zoom": max_zoom,
            "wall_s": round(wall, 1),
            "job_cpu_s": round(sum(j["cpu_s"] for rows in jobs.values() for j in rows), 1),
            "jobs": {rule: len(jobs.get(rule, [])) for rule in RULES},
            "peak_rss_mb": {rule: max(j["max_rss_mb"] for j in jobs[rule]) for rule in RULES},
            "slowest_job_s": {rule: max(j["s"] for j in jobs[rule]) for rule in RULES},
            "tiles": report["tiles"],
            "unique_tiles": report["unique_tiles"],
            "dedup_ratio": round(report["tiles"] / report["unique_tiles"], 2),
            "tile_bytes": report["bytes"],
            "mbtiles_bytes": (out / f"{MAP_ID}.mbtiles").stat().st_size,
            "pmtiles_bytes": (out / f"{MAP_ID}.pmtiles").stat().st_size,
        }
    finally:
        if keep is not None:
            shutil.copytree(workdir, keep / workdir.name, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def table(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| zooms | wall | job CPU | jobs: generalize / parts / merge "
        "| peak RSS per job: generalize / part / merge "
        "| tiles | unique | dedup | tile bytes | MBTiles | PMTiles |",
        "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        jobs = " / ".join(str(r["jobs"][rule]) for rule in RULES)
        rss = " / ".join(f"{r['peak_rss_mb'][rule]:.0f}" for rule in RULES)
        lines.append(
            f"| 0-{r['max_zoom']} | {r['wall_s']:.1f} s | {r['job_cpu_s']:.0f} s | {jobs} "
            f"| {rss} MB "
            f"| {r['tiles']:,} | {r['unique_tiles']:,} | {r['dedup_ratio']:.2f} "
            f"| {r['tile_bytes'] / 1e6:.1f} MB | {r['mbtiles_bytes'] / 1e6:.1f} MB "
            f"| {r['pmtiles_bytes'] / 1e6:.1f} MB |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zooms", type=int, nargs="+", default=[6, 8, 10], help="maximum zooms")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", type=Path, help="copy each run's folder here")
    args = parser.parse_args()
    results = []
    for max_zoom in args.zooms:
        try:
            results.append(run_one(max_zoom, args.cores, args.keep))
        except RuntimeError as error:
            print(f"bench_shards: {error}", file=sys.stderr)
            return 1
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(f"{os.cpu_count()} cores, --cores {args.cores}, shards: auto\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
