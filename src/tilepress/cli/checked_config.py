"""The configuration checked once per change, not twice per run.

`tilepress run` checks the configuration, then the Snakefile (``workflow/rules/common.smk``)
checks it again. The costly part of both is the country look-up: it reads the source with
GDAL and imports numpy, shapely and pyproj, 0.5 s or more of every run, even one with
nothing to do. The schema and meaning checks are cheap and always run; the look-up is
skipped when the same maps' highlights have been found in the same, unchanged source files:

- in this process: `tilepress run` runs Snakemake in-process, so the Snakefile finds the
  project `run` just resolved, when Snakemake's ``config`` (the file with the schema's
  defaults filled in) is the very data `run` checked (else it checks it again, without the
  look-up);
- on disk, in ``.snakemake/tilepress/checked-countries.json`` of the working folder, a short
  list of keys for look-ups that found no problem (a plain `snakemake`, the next run).

A key covers what the look-up reads: every looked-up map's id, source name and definition and
highlight groups, each source file's path, size and modification time, and tilepress's
version with the modification times of its ``sources`` modules (the matching code). Only a
look-up without a problem is recorded; a failed one is made again, with its messages.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tilepress import __version__
from tilepress.config.checks import check_document, marker_warnings
from tilepress.config.document import ConfigDocument, read_config_file
from tilepress.config.model import BUILTIN_SOURCE, ProjectConfig, SourceSpec
from tilepress.config.resolve import build_project, builtin_source
from tilepress.errors import ConfigError

RECORD = Path(".snakemake") / "tilepress" / "checked-countries.json"
KEPT = 16  # keys kept on disk: the last few configurations built here
_CHECKED: set[str] = set()  # keys whose look-up passed in this process
# Checked data (defaults filled in) -> its project and its sources' key, in this process.
_RESOLVED: dict[str, tuple[ProjectConfig, str]] = {}


def _file_stamp(path: str | Path) -> list[Any]:
    """Path, size and modification time of a file, or its path alone when it is missing."""
    try:
        info = Path(path).stat()
    except OSError:
        return [str(path)]
    return [str(Path(path).resolve()), info.st_size, info.st_mtime_ns]


def _code_stamp() -> list[Any]:
    """tilepress's version and its ``sources`` modules: a changed matcher looks up again."""
    folder = Path(__file__).resolve().parent.parent / "sources"
    return [__version__, *(_file_stamp(path) for path in sorted(folder.glob("*.py")))]


def lookup_key(data: Mapping[str, Any], positions: list[int]) -> str:
    """The key of the country look-up of the maps at ``positions`` (see the module)."""
    sources = data.get("sources") or {}
    parts: list[Any] = [_code_stamp()]
    for position in positions:
        raw = data["maps"][position]
        name = raw["source"]
        if name == BUILTIN_SOURCE:
            spec: SourceSpec | None = builtin_source()
        elif isinstance(sources.get(name), Mapping):
            spec = SourceSpec(name=name, **sources[name])
        else:
            spec = None
        groups = [[group["label"], group["countries"]] for group in raw["highlight"]]
        stamp = _file_stamp(spec.local_path) if spec is not None else None
        parts.append([raw["id"], name, sources.get(name), groups, stamp])
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _data_key(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _sources_key(data: Mapping[str, Any]) -> str:
    """The look-up key of every map: the data is checked, so every map is sound."""
    return lookup_key(data, list(range(len(data["maps"]))))


def _recorded(workdir: Path) -> list[str]:
    try:
        keys = json.loads((workdir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


def record(key: str, workdir: Path) -> None:
    """Keep ``key`` on disk as checked (written whole: a temporary file renamed into place)."""
    path = workdir / RECORD
    keys = [key, *(old for old in _recorded(workdir) if old != key)][:KEPT]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(keys), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a read-only folder: the next run looks the countries up again


def check(document: ConfigDocument, workdir: Path, *, countries: bool = True) -> str | None:
    """Check ``document`` as :func:`tilepress.project.parse_config` does, the country look-up
    skipped when its key is known; raises ConfigError naming every problem. Returns the key of
    a look-up made now (for :func:`record`), or None. Fills in defaults in ``document.data``."""
    result = check_document(document)
    problems = list(result.problems)
    made = None
    if countries and result.maps_to_look_up:
        key = lookup_key(document.data, result.maps_to_look_up)
        if key not in _CHECKED and key not in _recorded(workdir):
            from tilepress.sources.highlights import config_country_problems

            problems += config_country_problems(document, result.maps_to_look_up)
            made = key
        if not problems:
            _CHECKED.add(key)
    if problems:
        raise ConfigError(problems, source=document.path)
    return made


def load_file(
    path: Path, workdir: Path, *, countries: bool = True
) -> tuple[ProjectConfig, list[str], str | None]:
    """A configuration file checked and resolved, its warnings, and the key to :func:`record`
    once the caller may write to ``workdir`` (`tilepress run`: after taking its lock)."""
    document = read_config_file(path)
    made = check(document, workdir, countries=countries)
    project = build_project(document.data)
    if countries:
        _RESOLVED[_data_key(document.data)] = (project, _sources_key(document.data))
    return project, marker_warnings(document), made


def from_mapping(data: Mapping[str, Any], source: str | None = None) -> ProjectConfig:
    """Snakemake's ``config`` checked and resolved (the Snakefile's PROJECT); a look-up made
    here is recorded in the working folder at once."""
    known = _RESOLVED.get(_data_key(data))
    if known is not None and known[1] == _sources_key(data):
        return known[0]  # `tilepress run` checked this very data a moment ago
    document = ConfigDocument(data=copy.deepcopy(dict(data)), path=source)
    made = check(document, Path.cwd())
    if made is not None:
        record(made, Path.cwd())
    return build_project(document.data)
