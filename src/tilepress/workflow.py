"""Helpers the Snakemake workflow calls while it parses: outputs and early checks."""

from __future__ import annotations

from pathlib import Path

from tilepress.config import ProjectConfig
from tilepress.errors import ConfigError


def map_outputs(output_dir: str, map_id: str) -> list[str]:
    """Every file and folder the workflow builds for one map."""
    base = f"{output_dir}/{map_id}"
    return [
        f"{base}/tiles",
        f"{base}/{map_id}.mbtiles",
        f"{base}/{map_id}.pmtiles",
        f"{base}/tiles.json",
        f"{base}/style.json",
        f"{base}/{map_id}.pdf",
        f"{base}/{map_id}.png",
    ]


def check_countries(project: ProjectConfig) -> None:
    """Resolve every map's countries in sources already on disk; raise naming every problem.

    Runs before any job starts, so a misspelt country stops the run with nothing written.
    Sources still to be downloaded are checked by the steps that read them.
    """
    from tilepress.sources import read_countries, resolve_highlights

    problems: list[str] = []
    tables = {}
    for spec in project.maps:
        if not Path(spec.source.local_path).is_file():
            continue
        if spec.source.name not in tables:
            tables[spec.source.name] = read_countries(spec.source)
        try:
            resolve_highlights(spec, tables[spec.source.name])
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
