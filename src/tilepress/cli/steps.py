"""``tilepress step ...``: one command per workflow step; the Snakemake rules call these, and
each builds the outputs of one map (or one source's generalized geometry)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from tilepress.cli.commands import main, report_errors
from tilepress.cli.lifecycle import without_cycle_collector
from tilepress.config.model import map_from_dict
from tilepress.errors import ConfigError, TilepressError

if TYPE_CHECKING:
    from tilepress.printing.sheet import PrintReport
    from tilepress.printing.targets import PrintTargets

log = logging.getLogger("tilepress")
spec_option = click.option(
    "--spec",
    "spec_json",
    required=True,
    help="The map's resolved specification as JSON (from the workflow).",
)


source_option = click.option(
    "--source",
    "source_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Source file to read (default: the map's).",
)


@main.group(hidden=False)
def step() -> None:
    """Single workflow steps (the Snakemake rules call these)."""
    # A step is a short process that never uses pandas, which pyogrio imports eagerly when it
    # is installed (a quarter of a second per step): a None entry makes that import fail fast.
    if "pandas" not in sys.modules and "pyogrio" not in sys.modules:
        sys.modules["pandas"] = None  # type: ignore[assignment]
    # Nor any linear algebra: without this, importing numpy starts an OpenBLAS thread per core
    # that spins for a tenth of a second of CPU, taken from the step's own work.
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "SLURM_JOB_ID" in os.environ:  # the rule's log then shows where the job ran
        log.info(
            "Slurm job %s on %s",
            os.environ["SLURM_JOB_ID"],
            os.environ.get("SLURMD_NODENAME", "?"),
        )


def _spec(spec_json: str) -> Any:
    try:
        return map_from_dict(json.loads(spec_json))
    except (ValueError, TypeError, KeyError) as error:
        raise ConfigError([f"--spec is not a map specification: {error}"]) from None


def _load_map(spec_json: str, source_path: Path | None, *, overlays: bool = False) -> Any:
    """The map of ``--spec`` with its source read (:func:`tilepress.sources.loaded.load_map`):
    read by a forked process while this one imports the tiling modules and their libraries.
    Its overlay files are read only for a step that draws them (``overlays``): the others use
    their settings alone, and their rules do not wait for a fetched overlay file."""
    from tilepress.sources.files import ReadAhead, SourceFile, map_fields

    spec = _spec(spec_json)
    read_ahead = ReadAhead.start(SourceFile.of(spec.source, source_path, map_fields(spec.source)))
    from tilepress.sources.loaded import load_map

    return load_map(spec, source_path, read_ahead=read_ahead, overlays=overlays)


source_spec_option = click.option(
    "--source-spec",
    "source_json",
    required=True,
    help="The source's settings as JSON (from the workflow).",
)
zooms_option = click.option("--zooms", required=True, help="Zoom range, e.g. 0-6.")


def _source_and_zooms(source_json: str, zooms: str) -> tuple[Any, range]:
    from tilepress.config.model import SourceSpec

    try:
        low, high = (int(part) for part in zooms.split("-"))
        return SourceSpec(**json.loads(source_json)), range(low, high + 1)
    except (ValueError, TypeError) as error:
        raise ConfigError([f"bad --source-spec or --zooms: {error}"]) from None


@step.command("generalize")
@source_spec_option
@source_option
@zooms_option
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@report_errors
def step_generalize(
    source_json: str, source_path: Path | None, zooms: str, out_path: Path, threads: int
) -> None:
    """Generalized geometry per zoom, stored (for a deep pyramid's sharded tile geometry)."""
    source, zoom_range = _source_and_zooms(source_json, zooms)
    with without_cycle_collector():
        from tilepress.tiles.build import build_pyramid

        build_pyramid(source, zoom_range, out_path, source_path, workers=threads)


@step.command("tile-geometry")
@source_spec_option
@source_option
@zooms_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@report_errors
def step_tile_geometry(
    source_json: str, source_path: Path | None, zooms: str, out_dir: Path, threads: int
) -> None:
    """A source's shared tile geometry for a zoom range: a folder of part files."""
    source, zoom_range = _source_and_zooms(source_json, zooms)
    with without_cycle_collector():
        from tilepress.tiles.build import build_geometry

        build_geometry(source, zoom_range, out_dir, source_path, workers=threads)


@step.command("tile-part")
@source_spec_option
@source_option
@zooms_option
@click.option(
    "--generalized",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Output of `step generalize` for the source and zooms.",
)
@click.option("--shard", "shard_name", required=True, help="Shard name, e.g. z0-5 or z8_3of16.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@report_errors
def step_tile_part(
    source_json: str,
    source_path: Path | None,
    zooms: str,
    generalized: Path,
    shard_name: str,
    out_path: Path,
) -> None:
    """One shard of a source's tile geometry into a part file (written whole or not at all)."""
    from tilepress.tiles.shards import parse_shard

    source, zoom_range = _source_and_zooms(source_json, zooms)
    shard = parse_shard(shard_name)
    with without_cycle_collector():
        from tilepress.tiles.build import build_part

        build_part(source, zoom_range, generalized, shard, out_path, source_path)


@step.command("tiles")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--generalized",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Output of `step generalize` (else the geometry is generalized here).",
)
@report_errors
def step_tiles(
    spec_json: str,
    source_path: Path | None,
    out_dir: Path,
    threads: int,
    generalized: Path | None,
) -> None:
    """Vector tiles in one process: z/x/y folder, MBTiles, PMTiles and a report."""
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path, overlays=True)
        from tilepress.tiles.build import build_tiles

        build_tiles(loaded, out_dir, workers=threads, pyramid=generalized)


@step.command("assemble-tiles")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option(
    "--store",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the map's assembled tiles go, for `step archives`.",
)
@click.argument("geometry", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@report_errors
def step_assemble_tiles(
    spec_json: str,
    source_path: Path | None,
    out_dir: Path,
    store: Path,
    geometry: tuple[Path, ...],
) -> None:
    """A map's tiles from its source's tile geometry: z/x/y folder, report, tile store."""
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path, overlays=True)
        from tilepress.tiles.assemble import assemble_map

        assemble_map(loaded, list(geometry), out_dir, store)


@step.command("archives")
@spec_option
@source_option
@click.option(
    "--store",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The map's tile store (from `step assemble-tiles`).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_archives(spec_json: str, source_path: Path | None, store: Path, out_dir: Path) -> None:
    """A map's MBTiles and PMTiles from its tile store, with its title and credits."""
    with without_cycle_collector():
        loaded = _load_map(spec_json, source_path)
        from tilepress.tiles.assemble import write_archives
        from tilepress.tiles.schema import map_extent

        write_archives(loaded.spec, map_extent(loaded), store, out_dir)


@step.command("style")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_style(spec_json: str, source_path: Path | None, out_dir: Path) -> None:
    """TileJSON and MapLibre style."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.style import build_style

    build_style(loaded, out_dir)


@step.command("glyphs")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_glyphs(spec_json: str, source_path: Path | None, out_dir: Path) -> None:
    """SDF glyphs of the map's label fonts, every range as a PBF, for MapLibre."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.glyphs import build_map_glyphs

    report = build_map_glyphs(loaded, out_dir)
    log.info("%s: %s", out_dir, report.to_dict())


@step.command("bundle")
@spec_option
@source_option
@click.option(
    "--map-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The map's output folder (its PMTiles archive, PDF, PNG and glyphs).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@report_errors
def step_bundle(spec_json: str, source_path: Path | None, map_dir: Path, out_dir: Path) -> None:
    """The static web bundle: the viewer page and everything it loads, for any static host."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.web.bundle import write_bundle

    report = write_bundle(loaded, map_dir, out_dir)
    log.info("%s: %d files, %.2f MB", report.folder, report.files, report.bytes / 1e6)


@step.command("print")
@spec_option
@source_option
@click.option("--out", "out_pdf", required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(["rgb", "cmyk"]),
    default="rgb",
    show_default=True,
    help="The colours of --out; rgb: the screen PDF; cmyk: the print variant (CMYK only, "
    "crop marks and bleed).",
)
@click.option(
    "--svg",
    "out_svg",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the map alone as SVG, from the same geometry.",
)
@click.option(
    "--print-pdf",
    "out_print",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the print variant (CMYK) of the screen PDF --out, from the same geometry.",
)
@click.option(
    "--png",
    "out_png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the screen PDF's page as a PNG preview.",
)
@click.option("--dpi", default=110, show_default=True, type=click.IntRange(30, 600))
@report_errors
def step_print(
    spec_json: str,
    source_path: Path | None,
    out_pdf: Path,
    mode: str,
    out_svg: Path | None,
    out_print: Path | None,
    out_png: Path | None,
    dpi: int,
) -> None:
    """The print sheet PDF (with --svg, --print-pdf, --png: the SVG of its map, its CMYK
    variant and its preview, all from one read of the source)."""
    from tilepress.printing.targets import PrintTargets  # without reportlab: a quick start

    if mode == "cmyk" and (out_print is not None or out_png is not None):
        raise click.UsageError("--print-pdf and --png go with the screen PDF, not --mode cmyk")
    if mode == "cmyk":
        targets = PrintTargets(print_pdf=out_pdf, svg=out_svg)
    else:
        targets = PrintTargets(out_pdf, out_print, out_svg, out_png, dpi)
    with without_cycle_collector():
        reports = _print_sheet(spec_json, source_path, targets)
    for report in reports:
        log.info(
            "%s: %s, %.0f kB, %d vertices, %.2f s",
            report.map_id,
            report.pdf,
            report.file_size / 1000,
            report.vertices,
            report.seconds,
        )
        if report.png is not None:
            log.info("%s: %s, %d dpi", report.map_id, report.png, dpi)


def _print_sheet(
    spec_json: str, source_path: Path | None, targets: PrintTargets
) -> list[PrintReport]:
    from concurrent.futures import ThreadPoolExecutor

    from tilepress.sources.highlights import resolve_highlights
    from tilepress.sources.overlays import read_overlays
    from tilepress.sources.table import read_countries

    spec = _spec(spec_json)  # the tiling modules are not imported: a faster start
    # Reading the source is mostly GEOS and hashing, which release the GIL: it runs beside the
    # pure-Python start of the drawing (importing reportlab, parsing the bundled fonts, and
    # laying out the page in each colour mode unless the extent is fitted to the countries;
    # pdfium for the preview). The overlay files are read after the source, in the same thread.
    plans: dict[Literal["rgb", "cmyk"], Any] = {}
    planning_error = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_countries, spec.source, source_path)
        reading_overlays = pool.submit(read_overlays, spec)
        from tilepress.printing.fonts import register_fonts
        from tilepress.printing.sheet import build_print_outputs, plan_print_sheet

        register_fonts()  # planning needs them too; an `auto` extent waits for the countries
        if spec.extent != "auto":
            try:
                for mode in targets.modes:
                    plans[mode] = plan_print_sheet(spec, mode=mode)
            except TilepressError as error:  # reported after the source's own errors
                planning_error = error
        if targets.png is not None:
            import pypdfium2  # noqa: F401 - imported now, not once the screen PDF is drawn
        table = reading.result()
        overlays = reading_overlays.result()
    highlighting = resolve_highlights(spec, table)
    if planning_error is not None:
        raise planning_error
    # The print sheet logs its own warnings (colour-blind safety, dropped labels, markers
    # outside the frame), each once.
    return build_print_outputs(spec, table, highlighting, targets, plans=plans, overlays=overlays)


@step.command("preview")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("png", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dpi", default=110, show_default=True, type=click.IntRange(30, 600))
@report_errors
def step_preview(pdf: Path, png: Path, dpi: int) -> None:
    """Render the PDF's first page to PNG."""
    from tilepress.printing.preview import render_preview  # without reportlab: a quick start

    render_preview(pdf, png, dpi=dpi)


@step.command("fetch")
@click.option("--url", default=None, help="Download this URL.")
@click.option(
    "--input",
    "input_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Or take this file (Snakemake's storage plugin downloaded it).",
)
@click.option("--sha256", required=True)
@click.option("--name", required=True, help="Source name (for messages).")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@report_errors
def step_fetch(
    url: str | None, input_path: Path | None, sha256: str, name: str, out_path: Path
) -> None:
    """Put a URL source in place once its SHA-256 is checked (downloaded here with --url)."""
    import shutil

    from tilepress.files import atomic_path
    from tilepress.sources.download import download, verify_checksum

    if input_path is not None and url is None:
        verify_checksum(input_path, sha256, source=name)
        with atomic_path(out_path) as temporary:
            shutil.copyfile(input_path, temporary)
            verify_checksum(temporary, sha256, source=name)
    elif url is not None and input_path is None:
        download(url, out_path, sha256, source=name)
    else:
        raise ConfigError([f"source {name!r}: give exactly one of --url and --input"])


@step.command("verify")
@click.option("--sha256", required=True)
@click.option("--name", required=True)
@click.argument("path", type=click.Path(path_type=Path))
@report_errors
def step_verify(sha256: str, name: str, path: Path) -> None:
    """Check a source file's SHA-256."""
    from tilepress.sources.download import verify_checksum

    verify_checksum(path, sha256, source=name)
