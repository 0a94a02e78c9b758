"""A configuration file in, a checked :class:`~tilepress.config.model.ProjectConfig` out: the
schema and meaning checks of :mod:`tilepress.config.checks`, and the highlighted countries
looked up in their sources (:mod:`tilepress.sources.highlights`).

It sits above both packages so that ``config`` never imports ``sources``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tilepress.config.checks import check_document, marker_warnings
from tilepress.config.document import ConfigDocument, read_config_file
from tilepress.config.model import ProjectConfig
from tilepress.config.resolve import build_project
from tilepress.errors import ConfigError


def config_problems(document: ConfigDocument, *, countries: bool = True) -> list[str]:
    """Every problem of a configuration, each with its place: keys and values, then (with
    ``countries``) the highlighted countries looked up in every source already on disk.
    Fills in defaults in ``document.data`` as a side effect."""
    check = check_document(document)
    problems = list(check.problems)
    if countries and check.maps_to_look_up:
        # Here, not at the top: reading sources needs numpy, GEOS and PROJ, which the
        # command line's start does not.
        from tilepress.sources.highlights import config_country_problems

        problems += config_country_problems(document, check.maps_to_look_up)
    return problems


def parse_config(document: ConfigDocument, *, countries: bool = True) -> ProjectConfig:
    """Validate a configuration and return it resolved; raises ConfigError naming every problem.

    With ``countries``, highlighted countries are looked up in the sources on disk.
    """
    problems = config_problems(document, countries=countries)
    if problems:
        raise ConfigError(problems, source=document.path)
    return build_project(document.data)


def config_from_mapping(data: Mapping[str, Any], source: str | None = None) -> ProjectConfig:
    """Validate and resolve an already-loaded configuration (Snakemake's ``config``)."""
    return parse_config(ConfigDocument(data=copy.deepcopy(dict(data)), path=source))


def load_config(path: str | Path) -> ProjectConfig:
    """Read, validate and resolve a configuration file."""
    return parse_config(read_config_file(path))


def load_config_with_warnings(
    path: str | Path, *, countries: bool = True
) -> tuple[ProjectConfig, list[str]]:
    """Read, validate and resolve a configuration file, with the warnings of a sound one
    (markers outside their map's extent)."""
    document = read_config_file(path)
    config = parse_config(document, countries=countries)
    return config, marker_warnings(document)
