"""Reading, validating and resolving the tilepress configuration file."""

from __future__ import annotations

import copy
import datetime
import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilepress.errors import ConfigError

if TYPE_CHECKING:
    import jsonschema
    import yaml

BUILTIN_SOURCE = "natural-earth"
BUILTIN_SOURCE_FILE = "ne_10m_admin_0_countries_deu.zip"
BUILTIN_SOURCE_SHA256 = "125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82"
MAX_ZOOM_LIMIT = 16
EXTENT_WORLD = (-180.0, -90.0, 180.0, 90.0)

LICENSES: dict[str, tuple[str, str]] = {
    "CC-BY-SA-4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC-BY-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-NC-SA-4.0": ("CC BY-NC-SA 4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "CC-BY-NC-4.0": ("CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "CC-BY-ND-4.0": ("CC BY-ND 4.0", "https://creativecommons.org/licenses/by-nd/4.0/"),
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


def project_root() -> Path:
    """Folder holding the Snakefile, ``workflow/`` and ``data/``.

    A source checkout (editable install) is preferred; an installed wheel carries a copy.
    """
    package_dir = Path(__file__).resolve().parent
    checkout = package_dir.parent.parent
    if (checkout / "Snakefile").is_file() and (checkout / "workflow").is_dir():
        return checkout
    bundled = package_dir / "workflow"
    if (bundled / "Snakefile").is_file():
        return bundled
    raise ConfigError(["cannot find the tilepress workflow (Snakefile) next to the package"])


def schema_path() -> Path:
    """Path of the JSON schema (YAML) that defines the configuration."""
    return project_root() / "workflow" / "schemas" / "config.schema.yaml"


def builtin_source_path() -> Path:
    """The embedded Natural Earth file: ``data/`` of the working folder, else the packaged copy."""
    local = Path("data") / BUILTIN_SOURCE_FILE
    if local.is_file():
        return local
    return project_root() / "data" / BUILTIN_SOURCE_FILE


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
class HighlightGroup:
    """Countries drawn in one colour, with one legend entry."""

    label: str
    color: str
    countries: tuple[str, ...]


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
    shards: int | None = None  # bands per zoom above 5; None: derived from the zoom

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the inverse of :func:`map_from_dict`)."""
        from dataclasses import asdict

        return asdict(self)


def map_from_dict(data: Mapping[str, Any]) -> MapSpec:
    """Rebuild a :class:`MapSpec` from :meth:`MapSpec.to_dict` output."""
    values = dict(data)
    values["source"] = SourceSpec(**values["source"])
    values["page"] = PageSpec(**values["page"])
    values["print_options"] = PrintOptions(**values.get("print_options", {}))
    values["highlight"] = tuple(
        HighlightGroup(g["label"], g["color"], tuple(g["countries"])) for g in values["highlight"]
    )
    if isinstance(values["extent"], list):
        values["extent"] = tuple(values["extent"])
    return MapSpec(**values)


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


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


def _line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each key path of a YAML document to its 1-based line."""
    import yaml  # YAML, PIL and jsonschema are imported where used: `tilepress step` needs none

    index: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = (*path, str(key_node.value))
                walk(value_node, key_path)
                index[key_path] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                walk(item, (*path, position))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return index
    if root is not None:
        walk(root, ())
    return index


@dataclass
class ConfigDocument:
    """A configuration as read from a file, with the line of each key for error messages."""

    data: dict[str, Any]
    path: str | None = None
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def where(self, key_path: tuple[str | int, ...]) -> str:
        """Human form of a key path, with file and line when known."""
        dotted = format_key_path(key_path)
        probe = key_path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        location = self.path or "config"
        if line is not None:
            location += f":{line}"
        return f"{location}: {dotted}" if dotted else location


def format_key_path(key_path: tuple[str | int, ...]) -> str:
    """``('maps', 0, 'zoom')`` becomes ``maps[0].zoom``."""
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def read_config_file(path: str | Path) -> ConfigDocument:
    """Read a YAML configuration; a syntax error names the file and line."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read ({error.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{path}{line}: invalid YAML ({problem})"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the file must hold a mapping with a `maps:` list"])
    return ConfigDocument(data=data, path=str(path), lines=_line_index(text))


# ---------------------------------------------------------------------------------------------
# Validation


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


def validate_document(document: ConfigDocument, *, countries: bool = True) -> list[str]:
    """Every problem of a configuration (schema and meaning), each with its place.

    With ``countries``, highlighted countries are looked up in every source already on disk.
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
        problems.append(f"{document.where(key_path)}: {_schema_message(error)}")
    if not isinstance(document.data.get("maps"), list):
        return problems
    # Check the meaning of every map the schema accepted, so all problems surface at once.
    healthy = [
        position
        for position in range(len(document.data["maps"]))
        if ("maps", position) not in broken and ("maps",) not in broken
    ]
    sources_ok = not any(path[:1] == ("sources",) for path in broken)
    problems += _semantic_problems(document, healthy, check_sources=sources_ok)
    if countries and sources_ok:
        problems += _country_problems(document, healthy)
    return problems


def _dates_to_text(data: dict[str, Any]) -> None:
    """YAML reads an unquoted ``date: 2026-11-27`` as a date; keep it as the text written."""
    for raw in data.get("maps", []) if isinstance(data.get("maps"), list) else []:
        if isinstance(raw, dict) and isinstance(raw.get("date"), datetime.date):
            raw["date"] = raw["date"].isoformat()


def _country_problems(document: ConfigDocument, positions: list[int]) -> list[str]:
    """Unknown or doubly claimed countries of the maps at ``positions`` whose source is present."""
    from tilepress.sourcefile import map_fields
    from tilepress.sources import match_highlights, read_countries

    data = document.data
    tables: dict[str, Any] = {}
    problems: list[str] = []
    for position in positions:
        raw = data["maps"][position]
        name = raw["source"]
        if name == BUILTIN_SOURCE:
            spec = _builtin_source()
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


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf" and "path" in str(error.schema):
        return "a source needs either `path`, or `url` together with `sha256`"
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "id":
        return f"{error.instance!r} is not a slug: use lowercase letters, digits, '-' and '_'"
    return str(error.message)


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


def parse_config(document: ConfigDocument, *, countries: bool = True) -> ProjectConfig:
    """Validate a configuration and return it resolved; raises ConfigError naming every problem.

    With ``countries``, highlighted countries are looked up in the sources on disk.
    """
    problems = validate_document(document, countries=countries)
    if problems:
        raise ConfigError(problems, source=document.path)
    return _build_project(document.data)


def config_from_mapping(data: Mapping[str, Any], source: str | None = None) -> ProjectConfig:
    """Validate and resolve an already-loaded configuration (Snakemake's ``config``)."""
    return parse_config(ConfigDocument(data=copy.deepcopy(dict(data)), path=source))


def load_config(path: str | Path) -> ProjectConfig:
    """Read, validate and resolve a configuration file."""
    return parse_config(read_config_file(path))


def _builtin_source() -> SourceSpec:
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


def _build_project(data: dict[str, Any]) -> ProjectConfig:
    sources: dict[str, SourceSpec] = {BUILTIN_SOURCE: _builtin_source()}
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
                    )
                    for group in raw["highlight"]
                ),
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
