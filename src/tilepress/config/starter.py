"""The starter configuration of ``tilepress init``: the reference map, with every key the
schema knows, each with its reference value or default (or, where it has neither, a
commented-out example) and the schema's description as a comment.

Made at run time from the schema and the reference config the installation carries
(``config.paths``), so it never drifts from either.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tilepress.config.paths import project_root, schema_path

WIDTH = 92
# Values for keys with neither a default nor a reference value: shown commented out, as an
# example, since setting them changes the map (a glyph server, a font file, an overlay).
EXAMPLES: dict[str, Any] = {
    "glyphs": "https://glyphs.example.org/{fontstack}/{range}.pbf",
    "sources": {
        "my-countries": {
            "path": "data/my-countries.gpkg",
            "url": "https://example.org/my-countries.zip",
            "sha256": "0" * 64,
            "layer": "countries",
            "encoding": "UTF-8",
        }
    },
    "description": "A world map with Ukraine, Russia and North Korea highlighted.",
    "license_url": "https://creativecommons.org/licenses/by-sa/4.0/",
    "pattern": {"type": "hatch", "color": "#ffffff", "width": 1.2, "spacing": 5},
    "overlays": [
        {
            "label": "Occupied area",
            "path": "data/overlays/occupied.geojson",
            "url": "https://example.org/occupied.geojson",
            "sha256": "0" * 64,
            "layer": "areas",
            "pattern": "hatch",
            "date": "2026-11-27",
        }
    ],
    "cjk_font": "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
}
NOTES = {  # what a oneOf of the schema says, in words
    "sources": "Each source gives `path`, or `url` and `sha256` (not both).",
    "overlays": "Each overlay gives `path`, or `url` and `sha256` (not both).",
}


def reference_config_path() -> Path:
    """The reference config of this installation (a checkout's, or the wheel's copy)."""
    return project_root() / "config" / "config.yaml"


def starter_config() -> str:
    """The starter configuration's text (YAML with comments)."""
    schema = _load(schema_path())
    reference = _load(reference_config_path())
    lines = [
        "# tilepress configuration, written by `tilepress init`: the reference map, with every",
        "# key the schema knows (workflow/schemas/config.schema.yaml) set to its value here or",
        "# its default; keys that change the map when set are commented out, as examples.",
        "# Check it with `tilepress check-config config/config.yaml`.",
        "#",
        *_comment(schema.get("description", ""), ""),
    ]
    lines += _mapping(schema, schema, reference, "")
    return "\n".join(lines) + "\n"


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a mapping")
    return document


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """``node`` with its ``$ref`` (to ``#/$defs/...``) followed."""
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        return dict(schema["$defs"][reference.removeprefix("#/$defs/")])
    return node


def _mapping(
    schema: Mapping[str, Any],
    node: Mapping[str, Any],
    values: Mapping[str, Any],
    indent: str,
    describe: bool = True,
) -> list[str]:
    """Every property of the object schema ``node`` at ``indent``: valued from ``values``,
    else its default, else an example (commented out); with its description if ``describe``."""
    lines: list[str] = []
    for name, raw in node.get("properties", {}).items():
        prop = _resolve(schema, raw)
        if describe:
            lines += _comment(_describe(prop), indent)
        if name in values:
            lines += _entry(schema, prop, name, values[name], indent, describe)
        elif "default" in prop:
            lines += _entry(schema, prop, name, prop["default"], indent, describe)
        else:
            example = EXAMPLES.get(name, _placeholder(prop))
            lines += _commented(_entry(schema, prop, name, example, indent, describe), indent)
        if name in NOTES and describe:
            lines += _comment(NOTES[name], indent)
    return lines


def _entry(
    schema: Mapping[str, Any],
    prop: Mapping[str, Any],
    name: str,
    value: Any,
    indent: str,
    describe: bool = True,
) -> list[str]:
    """One key and its value: a nested block where the schema lists the value's keys."""
    inner = indent + "  "
    items = _resolve(schema, prop.get("items", {}))
    if isinstance(value, dict) and "properties" in prop:
        return [f"{indent}{name}:", *_mapping(schema, prop, value, inner, describe)]
    if isinstance(value, dict) and value and isinstance(prop.get("additionalProperties"), dict):
        entries = _resolve(schema, prop["additionalProperties"])
        lines = [f"{indent}{name}:"]
        for key, entry in value.items():
            lines += [f"{inner}{key}:", *_mapping(schema, entries, entry, inner + "  ", describe)]
        return lines
    if isinstance(value, list) and value and "properties" in items:
        lines = [f"{indent}{name}:"]
        for number, item in enumerate(value):  # the first item carries the descriptions
            body = _mapping(schema, items, item, inner + "  ", describe and number == 0)
            lines += _dashed(body, inner)
        return lines
    lines = [f"{indent}{name}: {_scalar(value, indent, len(indent) + len(name) + 2)}"]
    example = EXAMPLES.get(name)
    if isinstance(value, list | dict) and not value and example is not None:
        lines += [f"{indent}# for example:"]
        lines += _commented(_entry(schema, prop, name, example, indent, describe), indent)
    return lines


def _dashed(body: list[str], inner: str) -> list[str]:
    """An item's lines, its first key on the ``- `` (its comments stay above)."""
    out = list(body)
    for number, line in enumerate(out):
        if line[len(inner) + 2 :][:1] not in ("#", ""):
            out[number] = f"{inner}- {line[len(inner) + 2 :]}"
            break
    return out


def _commented(lines: list[str], indent: str) -> list[str]:
    """``lines`` commented out at ``indent``."""
    return [f"{indent}# {line[len(indent) :]}" for line in lines]


def _describe(prop: Mapping[str, Any]) -> str:
    text = str(prop.get("description", "")).strip()
    enum = prop.get("enum")
    if isinstance(enum, list):
        text += f" One of: {', '.join(map(str, enum))}."
    return text.strip()


def _comment(text: str, indent: str) -> list[str]:
    if not text:
        return []
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2)]


def _placeholder(prop: Mapping[str, Any]) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    return {"boolean": False, "number": 0, "integer": 0, "array": [], "object": {}}.get(
        str(kind), ""
    )


def _scalar(value: Any, indent: str, used: int) -> str:
    """A value on one line (YAML flow style); a long plain paragraph folded (``>-``)."""
    if isinstance(value, str):
        simple = "\n" not in value and "  " not in value and value == value.strip()
        if simple and value and used + len(value) > WIDTH:
            inner = indent + "  "
            wrapped = textwrap.wrap(value, WIDTH - len(inner), break_on_hyphens=False)
            return ">-\n" + "\n".join(f"{inner}{line}" for line in wrapped)
        return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a configuration value: {value}")
    text: str = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False)
    return text.strip().removesuffix("...").strip()
