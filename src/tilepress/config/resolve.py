"""A validated configuration (a mapping with the schema's defaults filled in) turned into a
:class:`~tilepress.config.model.ProjectConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tilepress.config.checks import normalize_color, normalize_projection
from tilepress.config.model import (
    BUILTIN_SOURCE,
    BUILTIN_SOURCE_SHA256,
    LICENSES,
    HighlightGroup,
    MapSpec,
    Marker,
    OverlaySpec,
    PageSpec,
    Pattern,
    PrintOptions,
    ProjectConfig,
    SourceSpec,
)
from tilepress.config.paths import builtin_source_path


def builtin_source() -> SourceSpec:
    """The embedded Natural Earth source."""
    return SourceSpec(
        name=BUILTIN_SOURCE,
        path=str(builtin_source_path()),
        sha256=BUILTIN_SOURCE_SHA256,
        encoding="UTF-8",
    )


def _print_options(raw: Mapping[str, Any]) -> PrintOptions:
    """The `print:` mapping (defaults filled in by the schema) as :class:`PrintOptions`."""
    graticule = raw["graticule"]
    step = None if isinstance(graticule, bool) else float(graticule)
    return PrintOptions(
        graticule=bool(graticule),
        graticule_step=step if step else None,
        scale_bar=raw["scale_bar"],
        locator=raw["locator"],
        crop_marks=raw["crop_marks"],
        bleed_mm=float(raw["bleed_mm"]),
        cjk_font=raw.get("cjk_font"),
    )


def _pattern(raw: str | Mapping[str, Any] | None) -> Pattern | None:
    """`pattern:` (a name, or a mapping with the type) as a :class:`Pattern`."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return Pattern(kind=raw)
    defaults = Pattern(kind=raw["type"])
    return Pattern(
        kind=raw["type"],
        color=normalize_color(raw["color"]) if "color" in raw else defaults.color,
        width=float(raw.get("width", defaults.width)),
        spacing=float(raw.get("spacing", defaults.spacing)),
    )


def _marker(raw: Mapping[str, Any]) -> Marker:
    return Marker(
        label=raw["label"].strip(),
        lon=float(raw["lon"]),
        lat=float(raw["lat"]),
        symbol=raw["symbol"],
        color=normalize_color(raw["color"]),
        size=float(raw["size"]),
        anchor=raw["anchor"],
        note=" ".join(raw["note"].split()) if raw.get("note") else None,
    )


def _overlay(raw: Mapping[str, Any]) -> OverlaySpec:
    return OverlaySpec(
        label=raw["label"].strip(),
        path=raw.get("path"),
        url=raw.get("url"),
        sha256=raw["sha256"].lower() if raw.get("sha256") else None,
        layer=raw.get("layer"),
        color=normalize_color(raw["color"]),
        pattern=_pattern(raw.get("pattern")),
        outline=raw["outline"],
        date=str(raw["date"]) if raw.get("date") is not None else None,
    )


def build_project(data: dict[str, Any]) -> ProjectConfig:
    """The configuration ``data`` (checked, with the schema's defaults filled in) resolved:
    the embedded source and the configured ones, each map's values normalised."""
    sources: dict[str, SourceSpec] = {BUILTIN_SOURCE: builtin_source()}
    for name, raw in data.get("sources", {}).items():
        sources[name] = SourceSpec(name=name, **raw)
    public_url = data["public_url"].rstrip("/")
    maps = []
    for raw in data["maps"]:
        license_name, license_url = LICENSES.get(raw["license"], (raw["license"], ""))
        extent = raw["extent"]
        maps.append(
            MapSpec(
                id=raw["id"],
                title=raw["title"].strip(),
                caption=" ".join(raw["caption"].split()),
                description=" ".join(raw["description"].split()) if "description" in raw else None,
                author=raw["author"],
                license=raw["license"],
                license_name=license_name,
                license_url=raw.get("license_url", license_url),
                date=str(raw["date"]) if raw.get("date") is not None else None,
                highlight=tuple(
                    HighlightGroup(
                        label=group["label"],
                        color=normalize_color(group["color"]),
                        countries=tuple(group["countries"]),
                        pattern=_pattern(group.get("pattern")),
                    )
                    for group in raw["highlight"]
                ),
                markers=tuple(_marker(marker) for marker in raw["markers"]),
                overlays=tuple(_overlay(overlay) for overlay in raw["overlays"]),
                source=sources[raw["source"]],
                base_color=normalize_color(raw["base_color"]),
                border_color=normalize_color(raw["border_color"]),
                ocean_color=normalize_color(raw["ocean_color"]),
                extent=tuple(float(v) for v in extent) if isinstance(extent, list) else extent,  # type: ignore[arg-type]
                projection=normalize_projection(raw["projection"]),
                min_zoom=raw["zoom"]["min"],
                max_zoom=raw["zoom"]["max"],
                labels=raw["labels"],
                page=PageSpec(**raw["page"]),
                public_url=public_url,
                glyphs=data.get("glyphs"),
                label_font=data["label_font"],
                print_options=_print_options(raw["print"]),
                shards=None if raw["shards"] == "auto" else int(raw["shards"]),
            )
        )
    return ProjectConfig(
        output_dir=data["output_dir"], public_url=public_url, sources=sources, maps=tuple(maps)
    )
