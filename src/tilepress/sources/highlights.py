"""Highlight groups matched to rows of a country table (by code or by name, with
suggestions for unknown names), and the fill colour of every row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tilepress.config.document import ConfigDocument
from tilepress.config.model import BUILTIN_SOURCE, MapSpec, SourceSpec
from tilepress.config.resolve import builtin_source
from tilepress.errors import ConfigError
from tilepress.sources.files import map_fields
from tilepress.sources.table import CountryTable, read_countries
from tilepress.sources.unclaimed import UNCLAIMED_COLOR


@dataclass(frozen=True)
class Highlighting:
    """Which row of the country table belongs to which highlight group."""

    group_of_row: dict[int, int]
    matched: dict[str, list[int]]

    def group(self, row: int) -> int | None:
        """Index of the row's highlight group, or None."""
        return self.group_of_row.get(row)


@dataclass(frozen=True)
class HighlightProblem:
    """A country of a highlight group that cannot be used, with its place in the config."""

    group: int
    country: int
    message: str


def match_highlights(
    groups: Sequence[tuple[str, Sequence[str]]], table: CountryTable, source_name: str
) -> tuple[Highlighting, list[HighlightProblem]]:
    """Match each group's countries (label, names or codes) to rows of the table.

    Returns the assignment and every problem: unknown names (with the closest names) and
    countries claimed by two groups.
    """
    group_of_row: dict[int, int] = {}
    matched: dict[str, list[int]] = {}
    problems: list[HighlightProblem] = []
    for group_index, (label, countries) in enumerate(groups):
        for country_index, query in enumerate(countries):
            rows = table.lookup(query)
            if not rows:
                close = table.suggestions(query)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                problems.append(
                    HighlightProblem(
                        group_index,
                        country_index,
                        (
                            f"unknown country {query!r} in group {label!r} "
                            f"(source {source_name!r}){hint}"
                        ),
                    )
                )
                continue
            for row in rows:
                previous = group_of_row.get(row)
                if previous is not None and previous != group_index:
                    problems.append(
                        HighlightProblem(
                            group_index,
                            country_index,
                            (
                                f"{table.names[row]} ({query!r}) is in two groups, "
                                f"{groups[previous][0]!r} and {label!r}"
                            ),
                        )
                    )
                group_of_row[row] = group_index
            matched[query] = rows
    return Highlighting(group_of_row, matched), problems


def resolve_highlights(spec: MapSpec, table: CountryTable) -> Highlighting:
    """Assign each highlighted country to its group; unknown names stop with suggestions."""
    groups = [(group.label, group.countries) for group in spec.highlight]
    highlighting, problems = match_highlights(groups, table, spec.source.name)
    if problems:
        raise ConfigError(
            [
                f"map {spec.id!r}, highlight[{p.group}].countries[{p.country}]: {p.message}"
                for p in problems
            ]
        )
    return highlighting


def fill_colors(spec: MapSpec, table: CountryTable, highlighting: Highlighting) -> list[str]:
    """The fill colour of every row: its group's colour, else the map's base colour; land no
    country holds ``UNCLAIMED_COLOR`` (no group ever holds it)."""
    colors = [
        spec.highlight[g].color if (g := highlighting.group(row)) is not None else spec.base_color
        for row in table.country_rows
    ]
    return colors + [UNCLAIMED_COLOR] * table.unclaimed


def highlighted_rows(highlighting: Highlighting) -> Sequence[int]:
    """Rows of all highlighted countries, sorted."""
    return sorted(highlighting.group_of_row)


def config_country_problems(document: ConfigDocument, positions: list[int]) -> list[str]:
    """Unknown or doubly claimed countries of the maps at ``positions`` whose source is present."""
    data = document.data
    tables: dict[str, Any] = {}
    problems: list[str] = []
    for position in positions:
        raw = data["maps"][position]
        name = raw["source"]
        if name == BUILTIN_SOURCE:
            spec = builtin_source()
        elif name in data.get("sources", {}):
            spec = SourceSpec(name=name, **data["sources"][name])
        else:
            continue  # reported as an unknown source already
        if not Path(spec.local_path).is_file():
            continue  # a URL source not downloaded yet: its step checks the countries
        if name not in tables:
            tables[name] = read_countries(spec, repaired=False, fields=map_fields(spec))
        groups = [(group["label"], group["countries"]) for group in raw["highlight"]]
        _highlighting, found = match_highlights(groups, tables[name], name)
        for problem in found:
            key = ("maps", position, "highlight", problem.group, "countries", problem.country)
            problems.append(f"{document.where(key)}: map {raw['id']!r}: {problem.message}")
    return problems
