"""What a configuration means once read: sources, maps, their print options, the project.

Plain frozen dataclasses with defaults filled in and values normalised; every step of the
pipeline takes its settings from a :class:`MapSpec`. Nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tilepress.errors import ConfigError

BUILTIN_SOURCE = "natural-earth"  # the embedded Natural Earth data (see data/README.md)
BUILTIN_SOURCE_SHA256 = "125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82"
MAX_ZOOM_LIMIT = 16
# The font stacks tilepress builds glyphs for (labels, highlighted labels): the web map's
# label fonts unless `glyphs` names a glyph server of the user's.
REGULAR_STACK = "Noto Sans Regular"
BOLD_STACK = "Noto Sans Bold"

LICENSES: dict[str, tuple[str, str]] = {
    "CC-BY-SA-4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC-BY-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-NC-SA-4.0": ("CC BY-NC-SA 4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "CC-BY-NC-4.0": ("CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "CC-BY-ND-4.0": ("CC BY-ND 4.0", "https://creativecommons.org/licenses/by-nd/4.0/"),
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


# Languages of the names a map's labels carry (Natural Earth's NAME_<code> fields).
LABEL_LANGUAGES = (
    "ar",
    "bn",
    "de",
    "el",
    "en",
    "es",
    "fa",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "nl",
    "pl",
    "pt",
    "ru",
    "sv",
    "tr",
    "uk",
    "ur",
    "vi",
    "zh",
    "zht",
)


@dataclass(frozen=True)
class SourceSpec:
    """Where a map's country polygons come from."""

    name: str
    path: str | None = None
    url: str | None = None
    sha256: str | None = None
    layer: str | None = None
    encoding: str | None = None
    code_field: str = "ADM0_A3"
    name_field: str = "NAME_EN"

    @property
    def local_path(self) -> str:
        """The file the workflow reads: the configured path, or the download target in data/."""
        if self.path is not None:
            return self.path
        if self.url is None:
            raise ConfigError([f"source {self.name!r} has neither `path` nor `url`"])
        suffix = "".join(Path(self.url.split("?")[0]).suffixes[-2:]) or ".zip"
        return f"data/{self.name}{suffix}"


@dataclass(frozen=True)
class Pattern:
    """Stripes or dots over an area's colour (`pattern:` of a group or an overlay); sizes in pt
    on an A4 sheet (scaled with the page) and in CSS pixels on screen."""

    kind: str  # hatch (diagonal stripes), cross (crossed diagonals) or dots
    color: str = "#ffffff"
    width: float = 1.2  # of a stripe, or a dot's diameter
    spacing: float = 5.0  # from one stripe or dot to the next

    def image_id(self, background: str) -> str:
        """The name of this pattern over ``background`` as a MapLibre image (the tiles'
        ``pattern`` property), which says all it draws: the viewer makes the image from it.
        ``tp-hatch-ffffff-1f5fbf-1.2-5``: kind, stripe colour, background, width, spacing."""
        return (
            f"tp-{self.kind}-{self.color.lstrip('#')}-{background.lstrip('#')}-"
            f"{self.width:g}-{self.spacing:g}"
        )


@dataclass(frozen=True)
class HighlightGroup:
    """Countries drawn in one colour (and a pattern, if any), with one legend entry."""

    label: str
    color: str
    countries: tuple[str, ...]
    pattern: Pattern | None = None


@dataclass(frozen=True)
class Marker:
    """A place marked on the map: a symbol at ``lon``, ``lat`` and its label."""

    label: str
    lon: float
    lat: float
    symbol: str = "dot"  # dot, star, square or triangle
    color: str = "#1a1a1a"
    size: float = 6.0  # pt on an A4 sheet, CSS pixels on screen
    anchor: str = "auto"  # auto, right, left, above or below the symbol
    note: str | None = None  # what it means, for the legend


OUTLINE_SHADE = 0.6  # an overlay's outline: its colour at 60 % of its brightness


def darker(color: str, factor: float = OUTLINE_SHADE) -> str:
    """A ``#rrggbb`` colour (as the config resolves every colour) with each channel scaled by
    ``factor``: by default an overlay's outline, a shade darker than its fill."""
    channels = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(channel * factor):02x}" for channel in channels)


@dataclass(frozen=True)
class OverlaySpec:
    """An area drawn over the countries from a polygon file, with its legend entry."""

    label: str
    path: str | None = None
    url: str | None = None
    sha256: str | None = None
    layer: str | None = None
    color: str = "#8c2d04"
    pattern: Pattern | None = None
    outline: str = "solid"  # solid or dashed
    date: str | None = None

    @property
    def outline_color(self) -> str:
        """The colour of its outline, on paper and on screen: a shade darker than its fill."""
        return darker(self.color)

    @property
    def local_path(self) -> str:
        """The file the workflow reads: the configured path, or the download target."""
        if self.path is not None:
            return self.path
        if self.url is None or self.sha256 is None:
            raise ConfigError([f"overlay {self.label!r} has neither `path` nor `url` and `sha256`"])
        suffix = "".join(Path(self.url.split("?")[0]).suffixes[-2:]) or ".geojson"
        return f"data/overlays/{self.sha256.lower()[:16]}{suffix}"


@dataclass(frozen=True)
class PageSpec:
    """Paper size and orientation of the print sheet."""

    size: str = "A4"
    orientation: str = "landscape"


@dataclass(frozen=True)
class PrintOptions:
    """Print-sheet settings of a map (the `print:` key)."""

    graticule: bool = False
    graticule_step: float | None = None  # degrees; None chooses a step from the extent
    scale_bar: bool = True
    locator: bool = True
    crop_marks: bool = True
    bleed_mm: float = 3.0
    cjk_font: str | None = None


@dataclass(frozen=True)
class MapSpec:
    """One map of the configuration, with defaults filled in and values normalised."""

    id: str
    title: str
    highlight: tuple[HighlightGroup, ...]
    source: SourceSpec
    caption: str = ""
    description: str | None = None  # the text alternative; None: written from the map
    author: str = "tilepress"
    license: str = "CC-BY-SA-4.0"
    license_name: str = "CC BY-SA 4.0"
    license_url: str = "https://creativecommons.org/licenses/by-sa/4.0/"
    date: str | None = None
    base_color: str = "#e4e1da"
    border_color: str = "#ffffff"
    ocean_color: str = "#d4e4f1"
    extent: str | tuple[float, float, float, float] = "auto"
    projection: str = "auto"
    min_zoom: int = 0
    max_zoom: int = 6
    labels: str = "highlighted"
    page: PageSpec = field(default_factory=PageSpec)
    public_url: str = "http://127.0.0.1:8000"
    glyphs: str | None = None
    label_font: str = "Noto Sans Regular"
    print_options: PrintOptions = field(default_factory=PrintOptions)
    markers: tuple[Marker, ...] = ()
    overlays: tuple[OverlaySpec, ...] = ()
    shards: int | None = None  # bands per zoom above 5; None: derived from the zoom

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the inverse of :func:`map_from_dict`)."""
        from dataclasses import asdict

        return asdict(self)


def map_from_dict(data: Mapping[str, Any]) -> MapSpec:
    """Rebuild a :class:`MapSpec` from :meth:`MapSpec.to_dict` output, or from the part of
    it a step reads (:mod:`tilepress.config.step_settings`): the rest keeps its defaults."""
    values = dict(data)
    values.setdefault("title", "")
    values["source"] = SourceSpec(**values["source"])
    values["page"] = PageSpec(**values.get("page", {}))
    values["print_options"] = PrintOptions(**values.get("print_options", {}))
    values["highlight"] = tuple(
        HighlightGroup(g["label"], g["color"], tuple(g["countries"]), _pattern(g.get("pattern")))
        for g in values["highlight"]
    )
    values["markers"] = tuple(Marker(**marker) for marker in values.get("markers", ()))
    values["overlays"] = tuple(
        OverlaySpec(**{**overlay, "pattern": _pattern(overlay.get("pattern"))})
        for overlay in values.get("overlays", ())
    )
    if isinstance(values.get("extent"), list):
        values["extent"] = tuple(values["extent"])
    return MapSpec(**values)


def _pattern(data: Mapping[str, Any] | None) -> Pattern | None:
    return None if data is None else Pattern(**data)


@dataclass(frozen=True)
class ProjectConfig:
    """The whole configuration: output folder, sources and maps."""

    output_dir: str
    public_url: str
    sources: dict[str, SourceSpec]
    maps: tuple[MapSpec, ...]

    def map(self, map_id: str) -> MapSpec:
        """The map with this id."""
        for spec in self.maps:
            if spec.id == map_id:
                return spec
        raise ConfigError([f"no map with id {map_id!r}; known: {', '.join(self.map_ids)}"])

    @property
    def map_ids(self) -> list[str]:
        """Ids of all maps, in file order."""
        return [spec.id for spec in self.maps]
