"""Benchmark: the reference print map with tilepress against cartopy + matplotlib.

Both draw the first map of config/config.yaml from the same data
(data/ne_10m_admin_0_countries_deu.zip, read by tilepress.sources) into an A4 landscape PDF in
Equal Earth, each in a fresh Python process, timed from start to exit: tilepress as the
workflow runs it (`tilepress step print`), cartopy as a script. Each tool's drawing alone
(after reading the data) is timed inside a script too. One run prints the
times, the file sizes and their ratios, and whether tilepress meets its targets (at most a
tenth of cartopy's time and of its file size).

    .venv/bin/pip install cartopy matplotlib     # benchmark-only, not test dependencies
    .venv/bin/python tests/benchmarks/bench_print.py [--runs N] [--json PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "config.yaml"
DATA = REPO / "data" / "ne_10m_admin_0_countries_deu.zip"
TARGET_RATIO = 0.1

TILEPRESS_SCRIPT = r'''
"""What `tilepress step print` does: read the source, resolve the countries, build the PDF."""
import json, sys, time
from tilepress.config.model import map_from_dict
from tilepress.printing.sheet import build_print_sheet
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import read_countries

spec = map_from_dict(json.loads(sys.argv[1]))
table = read_countries(spec.source, sys.argv[2])
highlighting = resolve_highlights(spec, table)
start = time.perf_counter()
build_print_sheet(spec, table, highlighting, sys.argv[3])
print(f"draw_seconds={time.perf_counter() - start:.4f}", file=sys.stderr)
'''

CARTOPY_SCRIPT = r'''
"""The usual way: cartopy projects and matplotlib writes every whole geometry."""
import json, sys, time
import matplotlib
matplotlib.use("pdf")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
import cartopy.crs as ccrs
from tilepress.config.model import map_from_dict
from tilepress.sources.highlights import fill_colors, resolve_highlights
from tilepress.sources.table import read_countries

spec = map_from_dict(json.loads(sys.argv[1]))
table = read_countries(spec.source, sys.argv[2])
colors = fill_colors(spec, table, resolve_highlights(spec, table))
start = time.perf_counter()
fig = plt.figure(figsize=(842 / 72, 595 / 72))
ax = fig.add_axes([0.04, 0.08, 0.92, 0.74], projection=ccrs.EqualEarth())
ax.set_global()
ax.set_facecolor(spec.ocean_color)
for geometry, color in zip(table.geometries, colors):
    ax.add_geometries(
        [geometry], crs=ccrs.PlateCarree(), facecolor=color, edgecolor=spec.border_color,
        linewidth=0.3,
    )
fig.suptitle(spec.title, x=0.04, y=0.95, ha="left", fontsize=18, fontweight="bold")
fig.text(0.04, 0.86, spec.caption, fontsize=8, wrap=True)
ax.legend(
    handles=[Patch(facecolor=g.color, label=g.label) for g in spec.highlight], loc="lower left"
)
fig.text(
    0.04, 0.03,
    f"\u201c{spec.title}\u201d by {spec.author}, licensed under {spec.license_name} "
    f"({spec.license_url}). Boundaries: Natural Earth. Made with Natural Earth. {spec.date}",
    fontsize=6,
)
fig.savefig(sys.argv[3], metadata={"Title": spec.title, "Author": spec.author})
print(f"draw_seconds={time.perf_counter() - start:.4f}", file=sys.stderr)
'''


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (children included) of a command, and its stderr."""
    before = os.times()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if result.returncode != 0:
        raise SystemExit(f"FAILED ({result.returncode}): {' '.join(command[:4])} ...\n"
                         f"{result.stderr[-3000:]}")  # fmt: skip
    return wall, cpu, result.stderr


def main() -> int:
    """Run both tools, print the table and the ratios; exit 0 when both ran."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="timed runs per tool (median)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--keep", type=Path, help="write the PDFs into this folder")
    args = parser.parse_args()
    try:
        import cartopy
        import matplotlib
    except ImportError:
        print("cartopy and matplotlib are needed: pip install cartopy matplotlib")
        return 2
    sys.path.insert(0, str(REPO / "src"))
    from bench_tiles import byte_compile_tilepress  # this script's folder is on sys.path

    from tilepress.project import load_config

    byte_compile_tilepress()

    spec = load_config(CONFIG).maps[0]
    spec_json = json.dumps(spec.to_dict())
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        script = Path(scratch) / "cartopy_map.py"
        script.write_text(CARTOPY_SCRIPT)
        ours = Path(scratch) / "tilepress_map.py"
        ours.write_text(TILEPRESS_SCRIPT)
        runs: dict[str, list[tuple[float, float]]] = {"tilepress": [], "cartopy": []}
        draws: dict[str, list[float]] = {"tilepress": [], "cartopy": []}
        outputs = {"tilepress": work / "tilepress.pdf", "cartopy": work / "cartopy.pdf"}
        commands = {
            "tilepress": [sys.executable, str(ours), spec_json, str(DATA),
                          str(outputs["tilepress"])],
            "cartopy": [sys.executable, str(script), spec_json, str(DATA),
                        str(outputs["cartopy"])],
        }  # fmt: skip
        # What the workflow runs, timed whole: the console script next to this Python.
        tilepress_exe = Path(sys.executable).with_name("tilepress")
        whole = {
            "tilepress": [str(tilepress_exe), "-q", "step", "print", "--spec", spec_json,
                          "--source", str(DATA), "--out", str(outputs["tilepress"])],
            "cartopy": commands["cartopy"],
        }  # fmt: skip
        for _run in range(args.runs):  # the tools take turns, so load changes fall on both
            for name, command in whole.items():
                wall, cpu, log = timed(command, REPO)
                runs[name].append((wall, cpu))
                if name == "cartopy":
                    draws[name].append(float(log.rsplit("draw_seconds=", 1)[1].split()[0]))
            # tilepress's drawing alone, from the script (same calls, timed inside)
            _wall, _cpu, log = timed(commands["tilepress"], REPO)
            draws["tilepress"].append(float(log.rsplit("draw_seconds=", 1)[1].split()[0]))
        sizes = {name: path.stat().st_size for name, path in outputs.items()}
    wall = {name: statistics.median(w for w, _c in values) for name, values in runs.items()}
    cpu = {name: statistics.median(c for _w, c in values) for name, values in runs.items()}
    draw = {name: statistics.median(values) for name, values in draws.items()}
    time_ratio = wall["tilepress"] / wall["cartopy"]
    draw_ratio = draw["tilepress"] / draw["cartopy"]
    size_ratio = sizes["tilepress"] / sizes["cartopy"]

    load = os.getloadavg()[0]
    print(
        f"bench_print: {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.2f}, "
        f"cartopy {cartopy.__version__}, matplotlib {matplotlib.__version__}, "
        f"{args.runs} run(s) each, median"
    )
    print(f"{'':28}{'tilepress':>12}{'cartopy':>12}{'tp/cartopy':>12}")
    print(f"{'wall time (s)':28}{wall['tilepress']:>12.2f}{wall['cartopy']:>12.2f}"
          f"{time_ratio:>12.3f}")  # fmt: skip
    print(f"{'CPU time (s)':28}{cpu['tilepress']:>12.2f}{cpu['cartopy']:>12.2f}"
          f"{cpu['tilepress'] / cpu['cartopy']:>12.3f}")  # fmt: skip
    print(f"{'drawing only (s)':28}{draw['tilepress']:>12.2f}{draw['cartopy']:>12.2f}"
          f"{draw_ratio:>12.3f}")  # fmt: skip
    print(f"{'PDF size (bytes)':28}{sizes['tilepress']:>12,}{sizes['cartopy']:>12,}"
          f"{size_ratio:>12.3f}")  # fmt: skip
    targets = {
        "time (whole process)": time_ratio <= TARGET_RATIO,
        "time (drawing only)": draw_ratio <= TARGET_RATIO,
        "size": size_ratio <= TARGET_RATIO,
    }
    for name, ok in targets.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] tilepress {name} <= {TARGET_RATIO:g} x cartopy")
    if args.json:
        figures: dict[str, Any] = {
            "runs": runs, "wall": wall, "cpu": cpu, "draw": draw, "sizes": sizes,
            "time_ratio": time_ratio, "size_ratio": size_ratio, "targets": targets,
        }  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
