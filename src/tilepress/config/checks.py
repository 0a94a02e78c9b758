"""Checking a configuration document: the JSON schema (filling in its defaults) and the
meaning of each map's values, every problem named with its file, line and key."""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilepress.config.document import ConfigDocument
from tilepress.config.model import (
    BOLD_STACK,
    BUILTIN_SOURCE,
    LICENSES,
    MAX_ZOOM_LIMIT,
    REGULAR_STACK,
)
from tilepress.config.paths import schema_path

if TYPE_CHECKING:
    import jsonschema


def _load_schema() -> dict[str, Any]:
    import yaml

    with schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = yaml.safe_load(handle)
    return schema


def _extend_with_defaults(validator_class: Any) -> Any:
    """A validator that fills in schema defaults while it validates (the jsonschema recipe)."""
    import jsonschema  # only where a configuration is validated: it is slow to import

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    default = subschema["default"]
                    instance[name] = dict(default) if isinstance(default, dict) else default
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def normalize_color(value: Any) -> str:
    """A CSS colour (``#rgb``, ``#rrggbb``, ``rgb(...)`` or a name) as lowercase ``#rrggbb``.

    Raises ValueError with a readable reason.
    """
    if not isinstance(value, str):
        raise ValueError(f"colour must be a string like '#0057b7', got {value!r}")
    text = value.strip()
    if re.fullmatch(r"#[0-9a-fA-F]{4}|#[0-9a-fA-F]{8}", text):
        raise ValueError(f"{value!r} has an alpha channel; give an opaque colour like '#0057b7'")
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a colour; use '#rrggbb', '#rgb', 'rgb(r, g, b)' or a CSS name"
        ) from None
    if len(rgb) == 4 and rgb[3] != 255:
        raise ValueError(f"{value!r} is transparent; give an opaque colour")
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def _check_extent(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, list) or len(value) != 4:
        return f"must be [west, south, east, north] (4 numbers), `world` or `auto`, got {value!r}"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return f"must hold 4 numbers, got {value!r}"
    west, south, east, north = value
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        return f"west and east must lie within -180..180 degrees, got {west} and {east}"
    if not (-90 <= south < north <= 90):
        return f"need -90 <= south < north <= 90, got south={south}, north={north}"
    if west == east:
        return "west equals east: the extent has no width (use `world` for the whole globe)"
    return None


def _check_projection(value: Any) -> str | None:
    if value == "auto":
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = normalize_projection(value)
    try:
        crs = CRS.from_user_input(text)
    except CRSError as error:
        return f"PROJ cannot build {value!r}: {error}".split("\n")[0]
    if crs.is_geographic:
        return f"{value!r} is a geographic CRS; give a projected one (or `auto`)"
    return None


def normalize_projection(value: str | int) -> str:
    """``3035``, ``"3035"`` and ``"epsg:3035"`` become ``"EPSG:3035"``; PROJ strings stay."""
    if isinstance(value, int) or re.fullmatch(r"\d+", str(value).strip()):
        return f"EPSG:{int(value)}"
    text = str(value).strip()
    match = re.fullmatch(r"(?i)epsg:(\d+)", text)
    return f"EPSG:{match.group(1)}" if match else text


@dataclass(frozen=True)
class DocumentCheck:
    """What :func:`check_document` found: every problem, and the maps sound enough (with
    sound source definitions) for their countries to be looked up in their sources."""

    problems: list[str]
    maps_to_look_up: list[int]  # positions in ``maps``


def check_document(document: ConfigDocument) -> DocumentCheck:
    """Every problem of a configuration (schema and meaning), each with its place.

    Fills in defaults in ``document.data`` as a side effect.
    """
    _dates_to_text(document.data)
    schema = _load_schema()
    import jsonschema

    validator = _extend_with_defaults(jsonschema.Draft202012Validator)(schema)
    problems: list[str] = []
    broken: set[tuple[str | int, ...]] = set()
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(e.path)):
        key_path = tuple(error.absolute_path)
        broken.add(key_path[:2])
        if error.validator == "additionalProperties":
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            for extra in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                problems.append(
                    f"{document.where((*key_path, extra))}: unknown key {extra!r}; "
                    f"allowed here: {allowed}"
                )
            continue
        problems.append(f"{document.where(key_path)}: {_schema_message(error, document.data)}")
    if not isinstance(document.data.get("maps"), list):
        return DocumentCheck(problems, [])
    # Check the meaning of every map the schema accepted, so all problems surface at once.
    healthy = [
        position
        for position in range(len(document.data["maps"]))
        if ("maps", position) not in broken and ("maps",) not in broken
    ]
    sources_ok = not any(path[:1] == ("sources",) for path in broken)
    problems += _semantic_problems(document, healthy, check_sources=sources_ok)
    return DocumentCheck(problems, healthy if sources_ok else [])


def _dates_to_text(data: dict[str, Any]) -> None:
    """YAML reads an unquoted ``date: 2026-11-27`` as a date; keep it as the text written."""
    for raw in data.get("maps", []) if isinstance(data.get("maps"), list) else []:
        if not isinstance(raw, dict):
            continue
        overlays = raw.get("overlays")
        for item in [raw, *(overlays if isinstance(overlays, list) else [])]:
            if isinstance(item, dict) and isinstance(item.get("date"), datetime.date):
                item["date"] = item["date"].isoformat()


def _schema_message(error: jsonschema.ValidationError, data: dict[str, Any]) -> str:
    path = tuple(error.absolute_path)
    if len(path) == 3 and path[0] == "maps" and path[2] == "description":
        return _description_message(error.instance, data["maps"][path[1]].get("id"))
    if error.validator == "oneOf" and "path" in str(error.schema):
        what = "an overlay" if "overlays" in path else "a source"
        return f"{what} needs either `path`, or `url` together with `sha256`"
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "id":
        return f"{error.instance!r} is not a slug: use lowercase letters, digits, '-' and '_'"
    return str(error.message)


def _description_message(value: Any, map_id: Any) -> str:
    """Why a map's `description` (its text alternative) is refused: not text, or empty."""
    label = f"map {map_id!r}: " if isinstance(map_id, str) else ""
    unset = "leave the key out to have one written from the map"
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{label}the description is empty: write what the map shows, or {unset}"
    if isinstance(value, datetime.date):
        kind, shown = "a date", value.isoformat()
    else:
        kinds = (
            (bool, "true/false"),
            (int | float, "a number"),
            (list, "a list"),
            (dict, "a mapping"),
        )
        kind = next((name for types, name in kinds if isinstance(value, types)), "not text")
        shown = repr(value)
    return (
        f"{label}the description must be text (one paragraph of plain sentences), got {kind}: "
        f"{shown}; put it in quotes, or {unset}"
    )


def _color_problem(
    document: ConfigDocument, key: tuple[str | int, ...], label: str, value: Any
) -> list[str]:
    try:
        normalize_color(value)
    except ValueError as error:
        return [f"{document.where(key)}: {label}: {error}"]
    return []


def _pattern_problems(
    document: ConfigDocument, key: tuple[str | int, ...], label: str
) -> list[str]:
    """The stripe colour of an area's `pattern` (the schema checks the rest)."""
    item = _item(document.data, key)
    pattern = item.get("pattern") if isinstance(item, dict) else None
    if isinstance(pattern, dict) and "color" in pattern:
        return _color_problem(document, (*key, "pattern", "color"), label, pattern["color"])
    return []


def _marker_problems(document: ConfigDocument, key: tuple[str | int, ...], label: str) -> list[str]:
    """Each marker's position on the globe and its colour."""
    problems: list[str] = []
    for position, marker in enumerate(_item(document.data, key)["markers"]):
        item = (*key, "markers", position)
        name = f"{label}, marker {marker['label']!r}"
        for axis, limit in (("lon", 180.0), ("lat", 90.0)):
            if not -limit <= marker[axis] <= limit:
                problems.append(
                    f"{document.where((*item, axis))}: {name}: {axis} {marker[axis]} is outside "
                    f"-{limit:g}..{limit:g} degrees; give `lon` (east) and `lat` (north) in "
                    "degrees, as in lon: 36.19, lat: 51.73"
                )
        problems += _color_problem(document, (*item, "color"), name, marker["color"])
    return problems


def _overlay_problems(
    document: ConfigDocument, key: tuple[str | int, ...], label: str
) -> list[str]:
    """Each overlay's file (when it has a path), colours and pattern."""
    problems: list[str] = []
    for position, overlay in enumerate(_item(document.data, key)["overlays"]):
        item = (*key, "overlays", position)
        name = f"{label}, overlay {overlay['label']!r}"
        path = overlay.get("path")
        if path is not None and not Path(path).exists():
            problems.append(
                f"{document.where((*item, 'path'))}: {name}: no such file {path!r} "
                f"(paths are relative to the working folder {Path.cwd()})"
            )
        problems += _color_problem(document, (*item, "color"), name, overlay["color"])
        problems += _pattern_problems(document, item, name)
    return problems


def _item(data: Any, key: tuple[str | int, ...]) -> Any:
    for part in key:
        data = data[part]
    return data


def _semantic_problems(
    document: ConfigDocument, positions: list[int], *, check_sources: bool = True
) -> list[str]:
    """Problems of meaning (values the schema cannot judge) in the maps at ``positions``."""
    data = document.data
    problems: list[str] = []
    where = document.where
    sources = set(data.get("sources", {})) | {BUILTIN_SOURCE}
    for name, raw_source in data.get("sources", {}).items() if check_sources else ():
        path = raw_source.get("path")
        if path is not None and not Path(path).exists():
            problems.append(
                f"{where(('sources', name, 'path'))}: source {name!r}: no such file {path!r} "
                f"(paths are relative to the working folder {Path.cwd()})"
            )
    label_font = data.get("label_font", REGULAR_STACK)
    if data.get("glyphs") is None and label_font != REGULAR_STACK:
        problems.append(
            f"{where(('label_font',))}: label font {label_font!r}: tilepress builds the glyphs "
            f"of {REGULAR_STACK} and {BOLD_STACK} only; set `glyphs` to the URL of a glyph "
            "server that has this font stack, or leave `label_font` out"
        )
    seen_ids: set[str] = set()
    for position in positions:
        raw = data["maps"][position]
        key: tuple[str | int, ...] = ("maps", position)
        map_id = raw["id"]
        label = f"map {map_id!r}"
        if map_id in seen_ids:
            problems.append(f"{where((*key, 'id'))}: {label} is defined twice; ids must be unique")
        seen_ids.add(map_id)
        if raw["source"] not in sources:
            close = difflib.get_close_matches(raw["source"], sorted(sources), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            problems.append(
                f"{where((*key, 'source'))}: {label}: unknown source {raw['source']!r}{hint} "
                f"(define it under `sources:`)"
            )
        for color_key in ("base_color", "border_color", "ocean_color"):
            try:
                normalize_color(raw[color_key])
            except ValueError as error:
                problems.append(f"{where((*key, color_key))}: {label}: {error}")
        for group_position, group in enumerate(raw["highlight"]):
            try:
                normalize_color(group["color"])
            except ValueError as error:
                problems.append(
                    f"{where((*key, 'highlight', group_position, 'color'))}: {label}: {error}"
                )
            problems += _pattern_problems(document, (*key, "highlight", group_position), label)
        problems += _marker_problems(document, key, label)
        problems += _overlay_problems(document, key, label)
        extent_problem = _check_extent(raw["extent"])
        if extent_problem:
            problems.append(f"{where((*key, 'extent'))}: {label}: extent {extent_problem}")
        projection_problem = _check_projection(raw["projection"])
        if projection_problem:
            problems.append(f"{where((*key, 'projection'))}: {label}: {projection_problem}")
        zoom = raw["zoom"]
        if not 0 <= zoom["min"] <= zoom["max"] <= MAX_ZOOM_LIMIT:
            problems.append(
                f"{where((*key, 'zoom'))}: {label}: zoom range must satisfy "
                f"0 <= min <= max <= {MAX_ZOOM_LIMIT}, got min={zoom['min']}, max={zoom['max']}"
            )
        font = raw["print"].get("cjk_font")
        if font is not None and not Path(font).is_file():
            problems.append(
                f"{where((*key, 'print', 'cjk_font'))}: {label}: no such font file {font!r} "
                f"(a TrueType .ttf/.ttc with Hangul, e.g. NanumGothic.ttf from fonts-nanum)"
            )
        if raw["license"] not in LICENSES and "license_url" not in raw:
            problems.append(
                f"{where((*key, 'license'))}: {label}: licence {raw['license']!r} is not one of "
                f"{', '.join(LICENSES)}; give its `license_url` too"
            )
    return problems


def marker_warnings(document: ConfigDocument) -> list[str]:
    """A warning for each marker outside its map's extent given in degrees (``[west, south,
    east, north]``, west > east across 180°), of a configuration already found sound. Such
    a marker is in the tiles but left off the print sheet; with ``extent: auto`` the print
    step itself says so, once it knows the extent."""
    warnings: list[str] = []
    for position, map_item in enumerate(document.data.get("maps", [])):
        extent = map_item.get("extent")
        if not isinstance(extent, list) or len(extent) != 4:
            continue
        west, south, east, north = (float(value) for value in extent)
        for index, marker in enumerate(map_item.get("markers", [])):
            lon, lat = float(marker["lon"]), float(marker["lat"])
            across = lon >= west or lon <= east  # an extent across the antimeridian
            inside_lon = west <= lon <= east if west <= east else across
            if inside_lon and south <= lat <= north:
                continue
            warnings.append(
                f"{document.where(('maps', position, 'markers', index))}: map "
                f"{map_item['id']!r}, marker {marker['label']!r} ({lon:g}, {lat:g}) lies outside "
                f"the map's extent [{west:g}, {south:g}, {east:g}, {north:g}]: it is in the tiles "
                "but left off the print sheet; widen `extent` or check `lon` and `lat`"
            )
    return warnings
