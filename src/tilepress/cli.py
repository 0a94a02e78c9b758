"""The ``tilepress`` command line: run the workflow, serve tiles, check configs, build steps."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import click

from tilepress import __version__
from tilepress.config import (
    load_config,
    map_from_dict,
    parse_config,
    project_root,
    read_config_file,
)
from tilepress.errors import ConfigError, TilepressError

if TYPE_CHECKING:
    from tilepress.printsheet import PrintReport

log = logging.getLogger("tilepress")
F = TypeVar("F", bound=Callable[..., Any])


def _report_errors(function: F) -> F:
    """Turn TilepressError into a clear message and exit status 1 (no traceback)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except TilepressError as error:
            click.echo(f"tilepress: error: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tilepress")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(verbose: int, quiet: bool) -> None:
    """Highlighted-country maps from one config file: vector tiles, a tile server, a print PDF."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="tilepress: %(message)s", stream=sys.stderr)
    logging.getLogger("tilepress").setLevel(level)


@main.command()
@click.option(
    "-c",
    "--configfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config/config.yaml"),
    show_default=True,
    help="Configuration file to build.",
)
@click.option(
    "-j",
    "--cores",
    default="all",
    show_default=True,
    help="CPU cores Snakemake may use (a number or 'all').",
)
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be built, build nothing.")
@click.option("--forceall", is_flag=True, help="Rebuild every output.")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@_report_errors
def run(
    configfile: Path, cores: str, dry_run: bool, forceall: bool, snakemake_args: tuple[str, ...]
) -> None:
    """Run the workflow through Snakemake for every map in the configuration.

    Extra arguments after `--` go to Snakemake unchanged (e.g. `-- --executor slurm`).
    """
    import subprocess  # here, not at the top: the workflow's steps never start a process

    load_config(configfile)  # fail fast, with every problem listed
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(project_root() / "Snakefile"),
        "--directory",
        str(Path.cwd()),
        "--configfile",
        str(configfile),
        "--cores",
        str(cores),
        "--show-failed-logs",
    ]
    if log.isEnabledFor(logging.DEBUG):
        command.append("--printshellcmds")
    if dry_run:
        command.append("--dry-run")
    if forceall:
        command.append("--forceall")
    command.extend(snakemake_args)
    # The rules call the `tilepress` command: make it this installation's, venv or not.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log.debug("running %s", " ".join(command))
    sys.exit(subprocess.call(command, env=env))


@main.command()
@click.argument("dist", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--public-url",
    default=None,
    help="Base URL clients use (behind a proxy); default http://HOST:PORT.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    default=("*",),
    show_default=True,
    help="Allowed CORS origin (repeatable).",
)
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Server worker processes: a number from 1 to 64, or 'auto' (one per core, up to 8).",
)
@click.option("--access-log", is_flag=True, help="Log every request (slower).")
@_report_errors
def serve(
    dist: Path,
    host: str,
    port: int,
    public_url: str | None,
    cors_origins: tuple[str, ...],
    workers: str,
    access_log: bool,
) -> None:
    """Serve every map in DIST: viewer, catalog, TileJSON, style, tiles and downloads.

    Binds to 127.0.0.1 unless --host says otherwise; pass --public-url when clients reach
    the server through another address (a proxy, a domain name).
    """
    from tilepress.server import serve as run_server

    if workers == "auto":
        count = None
    elif workers.isdigit() and 1 <= int(workers) <= 64:
        count = int(workers)
    else:
        raise click.BadParameter(
            f"{workers!r} is neither a number from 1 to 64 nor 'auto'", param_hint="--workers"
        )
    run_server(
        dist,
        host=host,
        port=port,
        public_url=public_url,
        cors_origins=cors_origins,
        workers=count,
        access_log=access_log,
    )


@main.command("check-config")
@click.argument("configfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-sources", is_flag=True, help="Do not open sources to check country names.")
@_report_errors
def check_config(configfile: Path, no_sources: bool) -> None:
    """Validate CONFIGFILE and name every problem (keys, values, countries)."""
    config = parse_config(read_config_file(configfile), countries=not no_sources)
    for spec in config.maps:
        groups = ", ".join(f"{g.label} {g.color}" for g in spec.highlight)
        pending = (
            ""
            if Path(spec.source.local_path).is_file()
            else (f" (source {spec.source.name!r} not downloaded yet: countries unchecked)")
        )
        click.echo(
            f"{spec.id}: {spec.title!r}; {groups}; zoom {spec.min_zoom}-{spec.max_zoom}; "
            f"page {spec.page.size} {spec.page.orientation}{pending}"
        )
    click.echo(f"{configfile}: OK, {len(config.maps)} map(s)")


# ---------------------------------------------------------------------------------------------
# Workflow steps: the Snakemake rules call these; each builds the outputs of one map.

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


def _load_map(spec_json: str, source_path: Path | None) -> Any:
    """The map of ``--spec`` with its source read (:func:`tilepress.build.load_map`): read by
    a forked process while this one imports the tiling modules and their libraries."""
    from tilepress.sourcefile import ReadAhead, SourceFile, map_fields

    spec = _spec(spec_json)
    read_ahead = ReadAhead.start(SourceFile.of(spec.source, source_path, map_fields(spec.source)))
    from tilepress.build import load_map

    return load_map(spec, source_path, read_ahead=read_ahead)


@step.command("generalize")
@click.option(
    "--source-spec",
    "source_json",
    required=True,
    help="The source's settings as JSON (from the workflow).",
)
@source_option
@click.option("--zooms", required=True, help="Zoom range, e.g. 0-6.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256))
@_report_errors
def step_generalize(
    source_json: str, source_path: Path | None, zooms: str, out_path: Path, threads: int
) -> None:
    """Generalized geometry per zoom (depends only on the source and the zoom range)."""
    from tilepress.config import SourceSpec

    try:
        low, high = (int(part) for part in zooms.split("-"))
        source = SourceSpec(**json.loads(source_json))
    except (ValueError, TypeError) as error:
        raise ConfigError([f"bad --source-spec or --zooms: {error}"]) from None
    with _without_cycle_collector():
        from tilepress.build import build_pyramid

        build_pyramid(source, range(low, high + 1), out_path, source_path, workers=threads)


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
@_report_errors
def step_tiles(
    spec_json: str,
    source_path: Path | None,
    out_dir: Path,
    threads: int,
    generalized: Path | None,
) -> None:
    """Vector tiles: z/x/y folder, MBTiles, PMTiles and a report."""
    with _without_cycle_collector():
        loaded = _load_map(spec_json, source_path)
        from tilepress.build import build_tiles

        build_tiles(loaded, out_dir, workers=threads, pyramid=generalized)


@step.command("tile-part")
@spec_option
@source_option
@click.option(
    "--generalized",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Output of `step generalize` for the map's source and zooms.",
)
@click.option("--shard", "shard_name", required=True, help="Shard name, e.g. z0-5 or z8_3of16.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@_report_errors
def step_tile_part(
    spec_json: str, source_path: Path | None, generalized: Path, shard_name: str, out_path: Path
) -> None:
    """One shard of a map's tiles into a part file (written whole or not at all)."""
    from tilepress.shards import parse_shard

    shard = parse_shard(shard_name)
    with _without_cycle_collector():
        loaded = _load_map(spec_json, source_path)
        from tilepress.build import build_part

        build_part(loaded, generalized, shard, out_path)


@step.command("merge-tiles")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.argument("parts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_report_errors
def step_merge_tiles(
    spec_json: str, source_path: Path | None, out_dir: Path, parts: tuple[Path, ...]
) -> None:
    """Merge a map's part files: z/x/y folder, MBTiles, PMTiles and the report."""
    with _without_cycle_collector():
        loaded = _load_map(spec_json, source_path)
        from tilepress.build import merge_tiles

        merge_tiles(loaded, list(parts), out_dir)


@step.command("style")
@spec_option
@source_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@_report_errors
def step_style(spec_json: str, source_path: Path | None, out_dir: Path) -> None:
    """TileJSON and MapLibre style."""
    loaded = _load_map(spec_json, source_path)
    from tilepress.build import build_style

    build_style(loaded, out_dir)


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """A workflow step: the cyclic garbage collector is off while it runs, in the process
    and the workers it forks. tilepress makes no reference cycles, but its many short-lived
    objects (geometries, features, tiles) trigger collections that rescan every long-lived
    object: about a tenth of a tiles step, 40 ms of a print step. Through ``atexit``, the
    interpreter then also skips collecting every object when it ends; run from the console
    script (:func:`console_script`), a step that succeeded does not even free them."""
    _freeze_objects_at_exit()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        _FINISHED_STEPS.append(click.get_current_context().info_name or "step")
    finally:
        if enabled:
            gc.enable()


_FINISHED_STEPS: list[str] = []  # steps of this process that completed


def console_script() -> None:
    """The ``tilepress`` command: :func:`main`; after a step that succeeded, the
    process ends as soon as its output is flushed and its workers are gone, without freeing
    its objects one by one (30 ms of a two-second tiles step, for nothing)."""
    try:
        main()
    except SystemExit as done:
        if done.code in (None, 0) and _FINISHED_STEPS:
            _end_now()
        raise


def _end_now() -> NoReturn:
    """Flush the log and the standard streams, wait for child processes, end at once."""
    import multiprocessing

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    for child in multiprocessing.active_children():  # workers still ending
        child.join()
    os._exit(0)


@lru_cache(maxsize=1)
def _freeze_objects_at_exit() -> None:
    atexit.register(gc.freeze)


@step.command("print")
@spec_option
@source_option
@click.option("--out", "out_pdf", required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(["rgb", "cmyk"]),
    default="rgb",
    show_default=True,
    help="rgb: the screen PDF; cmyk: the print variant (CMYK only, crop marks and bleed).",
)
@click.option(
    "--svg",
    "out_svg",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the map alone as SVG, from the same geometry.",
)
@_report_errors
def step_print(
    spec_json: str, source_path: Path | None, out_pdf: Path, mode: str, out_svg: Path | None
) -> None:
    """The print sheet PDF (and, with --svg, an SVG of the map)."""
    with _without_cycle_collector():
        report = _print_sheet(spec_json, source_path, out_pdf, mode, out_svg)
    log.info(
        "%s: %s, %.0f kB, %d vertices, %.2f s",
        report.map_id,
        report.pdf,
        report.file_size / 1000,
        report.vertices,
        report.seconds,
    )


def _print_sheet(
    spec_json: str, source_path: Path | None, out_pdf: Path, mode: str, out_svg: Path | None
) -> PrintReport:
    from concurrent.futures import ThreadPoolExecutor

    from tilepress.sources import read_countries, resolve_highlights

    spec = _spec(spec_json)  # the tiling modules are not imported: a faster start
    colours: Literal["rgb", "cmyk"] = "cmyk" if mode == "cmyk" else "rgb"
    # Reading the source is mostly GEOS and hashing, which release the GIL: it runs beside the
    # pure-Python start of the drawing (importing reportlab, parsing the bundled fonts, and
    # laying out the page unless the extent is fitted to the countries).
    plan, planning_error = None, None
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_countries, spec.source, source_path)
        from tilepress.printfonts import register_fonts
        from tilepress.printsheet import build_print_sheet, plan_print_sheet

        register_fonts()  # planning needs them too; an `auto` extent waits for the countries
        if spec.extent != "auto":
            try:
                plan = plan_print_sheet(spec, mode=colours)
            except TilepressError as error:  # reported after the source's own errors
                planning_error = error
        table = reading.result()
    highlighting = resolve_highlights(spec, table)
    if planning_error is not None:
        raise planning_error
    # The print sheet logs its own warnings (colour-blind safety, dropped labels).
    return build_print_sheet(
        spec, table, highlighting, out_pdf, mode=colours, svg=out_svg, plan=plan
    )


@step.command("preview")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("png", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dpi", default=110, show_default=True, type=click.IntRange(30, 600))
@_report_errors
def step_preview(pdf: Path, png: Path, dpi: int) -> None:
    """Render the PDF's first page to PNG."""
    from tilepress.printsheet import render_preview

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
@_report_errors
def step_fetch(
    url: str | None, input_path: Path | None, sha256: str, name: str, out_path: Path
) -> None:
    """Put a URL source in place once its SHA-256 is checked (downloaded here with --url)."""
    import shutil

    from tilepress.archives import atomic_path
    from tilepress.sources import download, verify_checksum

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
@_report_errors
def step_verify(sha256: str, name: str, path: Path) -> None:
    """Check a source file's SHA-256."""
    from tilepress.sources import verify_checksum

    verify_checksum(path, sha256, source=name)
