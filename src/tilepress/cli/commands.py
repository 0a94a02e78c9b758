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
from tilepress.errors import TilepressError

if TYPE_CHECKING:
    from tilepress.config.model import ProjectConfig

log = logging.getLogger("tilepress")
F = TypeVar("F", bound=Callable[..., Any])


def report_errors(function: F) -> F:
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
@report_errors
def run(
    configfile: Path, cores: str, dry_run: bool, forceall: bool, snakemake_args: tuple[str, ...]
) -> None:
    """Run the workflow through Snakemake for every map in the configuration.

    Extra arguments after `--` go to Snakemake unchanged (e.g. `-- --executor slurm`).
    """
    import subprocess  # here, not at the top: the workflow's steps never start a process

    from tilepress.config.paths import project_root
    from tilepress.project import load_config_with_warnings  # the config checks: only here

    config, warnings = load_config_with_warnings(configfile)
    check_fonts(config)  # fail fast, with every problem listed
    for warning in warnings:
        log.warning("warning: %s", warning)
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
@report_errors
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
    from tilepress.web.server import serve as run_server

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
