"""The web map's HTML: the catalog page, the viewer page (served, and in the static bundle) and
attribution cleaning.

Every value from the data is escaped (or reduced to safe markup by `clean_attribution`)
before it reaches a page; templates are filled in one pass.
"""

from __future__ import annotations

import html
import importlib.resources
import json
import re
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "CatalogCard",
    "catalog_html",
    "clean_attribution",
    "color_or",
    "credit_html",
    "plain_text",
    "text_or_empty",
    "viewer_entry",
    "viewer_html",
    "watch_html",
    "web_url",
]

_COLOR: Final = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_FALLBACK_COLOR: Final = "#c8c8c8"

CatalogCard = tuple[str, Mapping[str, Any], Mapping[str, str]]
"""One map in the catalog: its id, its catalog entry and its links relative to its folder."""


def color_or(value: Any, default: str) -> str:
    """A CSS hex colour from the data, or ``default`` when it is anything else."""
    return value if isinstance(value, str) and _COLOR.fullmatch(value) else default


def web_url(value: Any) -> str | None:
    """``value`` when it is an absolute http(s) or mailto URL, else None."""
    if not isinstance(value, str):
        return None
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return None
    return value.strip() if scheme in ("http", "https", "mailto") else None


def text_or_empty(value: Any) -> str:
    return value if isinstance(value, str) else ""


class _AttributionCleaner(HTMLParser):
    """Keeps the harmless part of an attribution's HTML: text, links and simple emphasis."""

    _KEEP: Final = frozenset({"a", "b", "strong", "i", "em", "span", "small", "sup", "sub"})
    _DROP: Final = frozenset(
        {"script", "style", "template", "iframe", "object", "embed", "noscript", "textarea",
         "title", "svg", "math", "select", "xmp", "noembed", "noframes"}
    )  # fmt: skip
    _TARGETS: Final = frozenset({"_blank", "_self", "_parent", "_top"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._DROP:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag == "br":
            self.parts.append("<br>")
            return
        if tag not in self._KEEP:
            return
        kept = ""
        if tag == "a":
            for name, value in attrs:
                if value is None:
                    continue
                if name == "href":
                    url = web_url(value)
                    if url is not None:
                        kept += f' href="{html.escape(url)}"'
                elif name in ("title", "rel") or (name == "target" and value in self._TARGETS):
                    kept += f' {name}="{html.escape(value)}"'
        self.parts.append(f"<{tag}{kept}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._DROP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in self.open:
            return
        while self.open:
            closed = self.open.pop()
            self.parts.append(f"</{closed}>")
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(html.escape(data, quote=False))

    def cleaned(self) -> str:
        self.close()
        self.parts.extend(f"</{tag}>" for tag in reversed(self.open))
        self.open.clear()
        return "".join(self.parts)


def clean_attribution(markup: str) -> str:
    """Reduce attribution HTML to text, http(s) links and simple emphasis.

    A TileJSON attribution is HTML that MapLibre inserts into the page as is, so scripts,
    event handlers and ``javascript:`` links are removed before it is served.
    """
    cleaner = _AttributionCleaner()
    cleaner.feed(markup)
    return cleaner.cleaned()


def plain_text(markup: str) -> str:
    """The text of an HTML fragment, without any tag."""
    return re.sub(r"<[^>]*>", "", markup)


def template(name: str) -> str:
    """A page template shipped in ``tilepress/web/templates``."""
    return (importlib.resources.files("tilepress.web") / "templates" / name).read_text(
        encoding="utf-8"
    )


def render(page: str, values: Mapping[str, str]) -> str:
    """Fill ``{{ name }}`` placeholders in one pass with already-escaped fragments."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], page)


def script_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: cannot close the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _e(value: str) -> str:
    return html.escape(value, quote=True)


_PATTERN_KINDS: Final = frozenset({"hatch", "cross", "dots"})
_SYMBOLS: Final = {
    # a marker's symbol in the legend, in a box from -5 to 5 (as the viewer's images)
    "dot": '<circle r="5"/>',
    "square": '<rect x="-5" y="-5" width="10" height="10"/>',
    "triangle": '<polygon points="0,-4.33 5,4.33 -5,4.33"/>',
    "star": '<polygon points="0,-5 1.12,-1.55 4.76,-1.55 1.82,0.59 2.94,4.05 0,1.91 -2.94,4.05 '
    '-1.82,0.59 -4.76,-1.55 -1.12,-1.55"/>',
}


def _size(value: Any, default: float) -> float:
    """A pattern's width or spacing from the data (CSS pixels), or ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 50:
        return default
    return float(value)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg_pattern(pattern: Any, background: str, ident: str) -> str:
    """A ``<pattern>`` of stripes or dots over ``background``, as the viewer draws them (the
    stripes at 45 degrees, "/"), or "" when ``pattern`` is none."""
    if not isinstance(pattern, dict) or pattern.get("kind") not in _PATTERN_KINDS:
        return ""
    kind = pattern["kind"]
    ink = color_or(pattern.get("color"), "#ffffff")
    width = _size(pattern.get("width"), 1.2)
    spacing = _size(pattern.get("spacing"), 5.0)
    s, w = _n(spacing), _n(width)
    head = f'<pattern id="{ident}" patternUnits="userSpaceOnUse" width="{s}" height="{s}"'
    tile = f'<rect width="{s}" height="{s}" fill="{background}"/>'
    if kind == "dots":
        middle = _n(spacing / 2)
        dot = f'<circle cx="{middle}" cy="{middle}" r="{_n(width / 2)}" fill="{ink}"/>'
        return f"{head}>{tile}{dot}</pattern>"
    half = _n((spacing - width) / 2)
    marks = f'<rect x="{half}" width="{w}" height="{s}" fill="{ink}"/>'
    if kind == "cross":
        marks += f'<rect y="{half}" width="{s}" height="{w}" fill="{ink}"/>'
    return f'{head} patternTransform="rotate(45)">{tile}{marks}</pattern>'


def _area_swatch(entry: Mapping[str, Any], index: int) -> str:
    """An area's swatch: its colour, its pattern, and an overlay's outline (dashed or not)."""
    color = color_or(entry.get("color"), _FALLBACK_COLOR)
    ident = f"tp-legend-{index}"
    pattern = _svg_pattern(entry.get("pattern"), color, ident)
    outlined = entry.get("kind") == "overlay"
    if not pattern and not outlined:
        return f'<span class="swatch" style="background:{color}"></span>'
    fill = f"url(#{ident})" if pattern else color
    stroke = ""
    if outlined:
        line = color_or(entry.get("outline_color"), "#333333")
        dashes = ' stroke-dasharray="3 2"' if entry.get("outline") == "dashed" else ""
        stroke = f' stroke="{line}" stroke-width="1.5"{dashes}'
    return (
        '<svg class="swatch" width="14" height="9" viewBox="0 0 14 9" aria-hidden="true">'
        + (f"<defs>{pattern}</defs>" if pattern else "")
        + f'<rect x="0.75" y="0.75" width="12.5" height="7.5" fill="{fill}"{stroke}/></svg>'
    )


def _marker_symbol(entry: Mapping[str, Any]) -> str:
    shape = _SYMBOLS.get(text_or_empty(entry.get("symbol")), _SYMBOLS["dot"])
    color = color_or(entry.get("color"), "#1a1a1a")
    return (
        '<svg class="symbol" width="14" height="14" viewBox="-6 -6 12 12" aria-hidden="true">'
        f'<g fill="{color}">{shape}</g></svg>'
    )


def legend_text(entry: Mapping[str, Any]) -> str:
    """What a legend entry says: an overlay's label and "as of <date>", a marker's note after
    its label (the note alone when it starts with the label), else the label."""
    label = text_or_empty(entry.get("label"))
    kind = entry.get("kind")
    if kind == "overlay" and text_or_empty(entry.get("date")):
        return f"{label}, as of {entry['date']}"
    if kind == "marker":
        note = text_or_empty(entry.get("note"))
        if not note or note.casefold().startswith(label.casefold()):
            return note or label
        return f"{label}: {note}"
    return label


def legend_html(legend: Any) -> str:
    """The legend's items: each area's swatch (colour, pattern, outline) or each marker's
    symbol, then its text; every value from the data escaped or checked."""
    items = []
    for index, entry in enumerate(legend if isinstance(legend, list) else []):
        if not isinstance(entry, dict):
            continue
        key = _marker_symbol(entry) if entry.get("kind") == "marker" else _area_swatch(entry, index)
        kind = entry.get("kind") if entry.get("kind") in _LEGEND_KINDS else "group"
        items.append(f'<li class="{kind}">{key}<span>{_e(legend_text(entry))}</span></li>')
    return "".join(items)


_LEGEND_KINDS: Final = frozenset({"group", "overlay", "marker", "unclaimed"})


def credit_html(extra: Mapping[str, Any]) -> str:
    parts = []
    author = text_or_empty(extra.get("author"))
    if author:
        parts.append(f"Map by {_e(author)}")
    license_ = extra.get("license")
    if isinstance(license_, dict):
        name = text_or_empty(license_.get("name")) or text_or_empty(license_.get("id"))
        url = web_url(license_.get("url"))
        if name and url:
            parts.append(f'<a href="{_e(url)}" rel="license">{_e(name)}</a>')
        elif name:
            parts.append(_e(name))
    return " · ".join(parts)


_LINK_LABELS: Final = (
    ("pdf", "PDF"),
    ("png", "PNG"),
    ("tilejson", "TileJSON"),
    ("style", "Style"),
    ("mbtiles", "MBTiles"),
    ("pmtiles", "PMTiles"),
)


def links_html(links: Mapping[str, str]) -> str:
    return " ".join(
        f'<a href="{_e(links[key])}">{label}</a>' for key, label in _LINK_LABELS if key in links
    )


def viewer_entry(map_id: str, tilejson: Mapping[str, Any], attribution: str) -> dict[str, Any]:
    """What the viewer page shows of a map, from its TileJSON (``attribution`` cleaned)."""
    extra = tilejson.get("tilepress")
    extra = extra if isinstance(extra, dict) else {}
    license_, legend = extra.get("license"), extra.get("legend")
    view = extra.get("view")
    return {
        "id": map_id,
        "title": text_or_empty(extra.get("title")) or text_or_empty(tilejson.get("name")) or map_id,
        "caption": text_or_empty(extra.get("caption"))
        or text_or_empty(tilejson.get("description")),
        "description": text_or_empty(extra.get("description")),
        "author": text_or_empty(extra.get("author")),
        "license": license_ if isinstance(license_, dict) else None,
        "attribution": attribution,
        "minzoom": tilejson.get("minzoom", 0),
        "maxzoom": tilejson.get("maxzoom", 0),
        "bounds": tilejson.get("bounds"),
        "center": tilejson.get("center"),
        "view": view if isinstance(view, list) and len(view) == 4 else None,
        "legend": legend if isinstance(legend, list) else [],
    }


EMBED_CODE: Final = (
    '<div style="position:relative;width:100%;aspect-ratio:4/3;min-height:480px">'
    '<iframe src="{page}" title="{title}" loading="lazy" allowfullscreen '
    'style="position:absolute;inset:0;width:100%;height:100%;border:0"></iframe></div>'
)
"""The embed snippet: a responsive iframe; the page puts its own address for ``{page}``."""


def viewer_html(
    page: str,
    entry: Mapping[str, Any],
    extra: Mapping[str, Any],
    links: Mapping[str, str],
    static_version: str,
    *,
    standalone: bool = False,
    watch: str = "",
) -> str:
    """The viewer page; ``links`` are relative to it. ``standalone`` is the static bundle's
    page: its scripts in ``static/`` beside it, its tiles from its PMTiles archive, no link
    to a catalog. ``watch`` is `watch_html`'s markup (``serve --watch`` only)."""
    title: str = entry["title"]
    caption: str = entry["caption"]
    description = text_or_empty(entry.get("description")) or title
    data = {
        "id": entry["id"],
        "title": title,
        "caption": caption,
        "description": description,
        "author": entry["author"],
        "license": entry["license"],
        "style": "style.json",
        "center": entry["center"],
        "bounds": entry["bounds"],
        "view": entry.get("view"),
        "minzoom": entry["minzoom"],
        "maxzoom": entry["maxzoom"],
        "legend": entry["legend"],
        "attribution": entry["attribution"],
        "links": dict(links),
        "static": standalone,
        "cjk_glyphs": bool(extra.get("cjk_glyphs")),
    }
    pdf = links.get("pdf")
    png = links.get("png")
    source_html = ""
    if "pmtiles" in links and not standalone:
        source_html = (
            'Tiles from <a href="./" data-source="server">the tile server</a> or '
            '<a href="./?source=pmtiles" data-source="pmtiles">the PMTiles archive</a>'
        )
    return render(
        page,
        {
            "title": _e(title),
            "description": _e(description),
            "caption_html": f'<p class="caption">{_e(caption)}</p>' if caption else "",
            "legend_html": legend_html(entry["legend"]),
            "credit_html": credit_html(extra),
            "pdf_html": f'<a class="button" href="{_e(pdf)}">Download the PDF</a>' if pdf else "",
            "links_html": links_html(links),
            "source_html": source_html,
            "nav_html": "" if standalone else '<p class="nav"><a href="../">All maps</a></p>',
            "embed_code": _e(EMBED_CODE.replace("{title}", _e(title))),
            "png_html": f'<img src="{_e(png)}" alt="{_e(description)}">' if png else "",
            "attribution_text": _e(plain_text(entry["attribution"])),
            "ocean_color": color_or(extra.get("ocean_color"), "#dfe9f3"),
            "static": "./static/" if standalone else "../static/",  # "./": a module path
            "static_version": _e(static_version),
            "data_json": script_json(data),
            "watch_html": watch,
        },
    )


def watch_html(build: str, state_url: str) -> str:
    """The error banner and the script of a page served by ``serve --watch``: it asks
    ``state_url`` for the served build and the last build's error, reloads the page when the
    build is no longer ``build`` and shows the error."""
    return render(
        template("watch.html"),
        {"build_json": script_json(build), "state_url_json": script_json(state_url)},
    )


def catalog_html(maps: Sequence[CatalogCard], *, watch: str = "") -> str:
    """The catalog page: one card per map, with relative links; ``watch`` as in
    `viewer_html`."""
    cards = []
    for map_id, entry, relative_links in maps:
        links = {key: f"{map_id}/{path}" for key, path in relative_links.items() if key != "viewer"}
        thumb = (
            f'<a class="thumb" href="{_e(map_id)}/" tabindex="-1">'
            f'<img src="{_e(links["png"])}" alt="" loading="lazy"></a>'
            if "png" in links
            else ""
        )
        caption = f'<p class="caption">{_e(entry["caption"])}</p>' if entry["caption"] else ""
        credit = credit_html({"author": entry["author"], "license": entry["license"] or {}})
        cards.append(
            '<article class="card">'
            f"{thumb}"
            f'<div class="body"><h2><a href="{_e(map_id)}/">{_e(entry["title"])}</a></h2>'
            f"{caption}"
            + (f'<p class="credit">{credit}</p>' if credit else "")
            + f'<p class="links"><a href="{_e(map_id)}/">Viewer</a> {links_html(links)}</p>'
            "</div></article>"
        )
    count = len(maps)
    return render(
        template("catalog.html"),
        {
            "count": f"{count} map{'s' if count != 1 else ''}",
            "cards_html": "".join(cards),
            "watch_html": watch,
        },
    )
