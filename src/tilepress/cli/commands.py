"""The user's commands: ``run`` the workflow, ``serve`` what it built, ``check-config``."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tilepress import __version__
from tilepress.errors import OutputWriteError, TilepressError

if TYPE_CHECKING:
    from tilepress.config.model import ProjectConfig

log = logging.getLogger("tilepress")
F = TypeVar("F", bound=Callable[..., Any])


def report_errors(function: F) -> F:
    """Turn TilepressError, and an OSError of a full disk or an unwritable folder, into a
    clear message and exit status 1 (no traceback); other errors are bugs and keep theirs."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except TilepressError as error:
            click.echo(f"tilepress: error: {error}", err=True)
            sys.exit(1)
        except OSError as error:
            fault = OutputWriteError.of(error)
            if fault is None:
                raise
            click.echo(f"tilepress: error: {fault}", err=True)
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
@report_errors
def run(
    configfile: Path, cores: str, dry_run: bool, forceall: bool, snakemake_args: tuple[str, ...]
) -> None:
    """Run the workflow through Snakemake for every map in the configuration.

    Extra arguments after `--` go to Snakemake unchanged (e.g. `-- --executor slurm`). One run
    per folder: a second one stops, naming the first; a killed run's stale lock is cleared.
    """
    import contextlib

    from tilepress.cli import checked_config, run_lock  # the config checks: only here
    from tilepress.config.paths import project_root
    from tilepress.errors import RunError

    if not configfile.is_file():
        raise RunError(
            f"{configfile}: no such file",
            hint="run `tilepress init` to write a starting config/config.yaml here "
            "(`tilepress init DIR` for another folder), or pass `-c FILE` to build another one",
        )
    workdir = Path.cwd()
    config, warnings, checked = checked_config.load_file(configfile, workdir)
    if any(spec.print_options.cjk_font is not None for spec in config.maps):
        check_fonts(config)  # fail fast, with every problem listed
    for warning in warnings:
        log.warning("warning: %s", warning)
    argv = [
        "--snakefile",
        str(project_root() / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        str(cores),
        "--show-failed-logs",
        "--rerun-incomplete",  # a job killed mid-way (output there, marked incomplete) reruns
    ]
    if log.isEnabledFor(logging.DEBUG):
        argv.append("--printshellcmds")
    if dry_run:
        argv.append("--dry-run")
    if forceall:
        argv.append("--forceall")
    argv.extend(snakemake_args)
    # The rules call the `tilepress` command: make it this installation's, venv or not.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    log.debug("running snakemake %s", " ".join(argv))
    reads_only = dry_run or not {"-n", "--dry-run", "--dryrun"}.isdisjoint(snakemake_args)
    with contextlib.ExitStack() as held:
        if not reads_only:  # a dry run takes no lock, as Snakemake's own takes none
            held.enter_context(run_lock.run_lock(workdir, sys.argv))
            if checked is not None:
                checked_config.record(checked, workdir)
            run_lock.clear_stale_snakemake_lock(workdir)
        # In this process, not a second interpreter: it shares the imports and the checked
        # configuration (the Snakefile's check is then a look-up); Snakemake's own `main`
        # keeps its output, options and exit status (SystemExit), and Ctrl-C reaches it.
        from snakemake.cli import main as snakemake_main

        logging.getLogger("snakemake").propagate = False  # not again as "tilepress: ..."
        snakemake_main(argv)


@main.command()
@click.argument("dist", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option(
    "--watch",
    is_flag=True,
    help="Serve the config's output folder, rebuild on a change of the config or its overlay "
    "files, and reload open pages.",
)
@click.option(
    "-c",
    "--configfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file to watch (with --watch; default config/config.yaml).",
)
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
@report_errors
def serve(
    dist: Path | None,
    watch: bool,
    configfile: Path | None,
    host: str,
    port: int,
    public_url: str | None,
    cors_origins: tuple[str, ...],
    workers: str,
    access_log: bool,
) -> None:
    """Serve every map in DIST: viewer, catalog, TileJSON, style, tiles and downloads.

    Binds to 127.0.0.1 unless --host says otherwise; pass --public-url when clients reach
    the server through another address (a proxy, a domain name). With --watch, DIST is the
    config's output_dir, built first if it holds no map yet; only a build that succeeded is
    served, a failed one's error shows in the terminal and the pages.
    """
    from tilepress.web.server import serve_with, server_settings

    if workers == "auto":
        count = None
    elif workers.isdigit() and 1 <= int(workers) <= 64:
        count = int(workers)
    else:
        raise click.BadParameter(
            f"{workers!r} is neither a number from 1 to 64 nor 'auto'", param_hint="--workers"
        )
    if configfile is not None and not watch:
        raise click.UsageError("-c/--configfile is for --watch")
    if watch:
        from tilepress.web.watch import watch_and_serve, watch_targets

        config = configfile or Path("config/config.yaml")
        output_dir = watch_targets(config).output_dir
        if dist is not None and dist.resolve() != output_dir.resolve():
            raise click.UsageError(
                f"with --watch the maps are served from the config's output_dir "
                f"({output_dir}), not {dist}: leave DIST out"
            )
    settings = server_settings(
        host=host,
        port=port,
        public_url=public_url,
        cors_origins=cors_origins,
        workers=count,
        access_log=access_log,
    )
    if watch:
        watch_and_serve(config, settings)
    else:
        serve_with(dist or Path("dist"), settings)


@main.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path())
@report_errors
def init(folder: Path) -> None:
    """Write a starter FOLDER/config/config.yaml: the reference map and every option."""
    from tilepress.config.starter import starter_config
    from tilepress.errors import ExistingConfigError
    from tilepress.files import create_file_atomic

    target = folder / "config" / "config.yaml"
    refusal = ExistingConfigError(
        "a configuration is already there; tilepress init never overwrites one",
        where=str(target),
        hint="edit it, move it away, or give another folder: `tilepress init DIR`",
    )
    if target.exists() or target.is_symlink():
        raise refusal
    try:
        create_file_atomic(target, starter_config().encode("utf-8"))
    except FileExistsError:  # written by another process meanwhile
        raise refusal from None
    click.echo(f"wrote {target}: the reference map, with every option and its default")
    place = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    click.echo(f"next: {place}tilepress run   (builds dist/), then: tilepress serve")


@main.command("check-config")
@click.argument("configfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-sources", is_flag=True, help="Do not open sources to check country names.")
@report_errors
def check_config(configfile: Path, no_sources: bool) -> None:
    """Validate CONFIGFILE and name every problem (keys, values, countries)."""
    from tilepress.project import load_config_with_warnings

    config, warnings = load_config_with_warnings(configfile, countries=not no_sources)
    check_fonts(config)
    for warning in warnings:
        log.warning("warning: %s", warning)
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


def check_fonts(config: ProjectConfig) -> None:
    """Every map's `print.cjk_font` is a TrueType font, as the PDFs and the web map's glyphs
    need (the config checks see only that the file exists)."""
    from tilepress.web.glyph_fonts import check_glyph_font

    for spec in config.maps:
        if spec.print_options.cjk_font is not None:
            check_glyph_font(spec.print_options.cjk_font, "print.cjk_font", spec.id)
