"""The credit line: title, author, source and licence (TASL) with the projection's name, and
its paragraph markup with the licence URL as a link."""

from __future__ import annotations

import html
from pathlib import Path

from tilepress.config.model import BUILTIN_SOURCE, MapSpec
from tilepress.printing.fonts import Fonts

NATURAL_EARTH_CREDIT = (
    "Boundaries: Natural Earth 1:10m admin-0 v5.1.1 (public domain). Made with Natural Earth."
)


def credit_line(spec: MapSpec, name_of_projection: str) -> str:
    """The TASL credit (title, author, source, licence) as plain text."""
    if spec.source.name == BUILTIN_SOURCE:
        boundaries = NATURAL_EARTH_CREDIT
    else:
        origin = spec.source.url or Path(spec.source.local_path).name
        boundaries = f"Boundaries: {spec.source.name} ({origin})."
        if "naturalearth" in origin.lower().replace("_", "").replace(" ", ""):
            boundaries += " Made with Natural Earth."
    licence = f"{spec.license_name} ({spec.license_url})" if spec.license_url else spec.license_name
    text = (
        f"\u201c{spec.title}\u201d by {spec.author}, licensed under {licence}. {boundaries} "
        f"{name_of_projection}."
    )
    if spec.date:
        text += f" {spec.date}"
    return text


def credit_markup(plain: str, url: str, fonts: Fonts) -> str:
    """Paragraph markup of the credit, the licence URL as a link."""
    if not url or url not in plain:
        return fonts.markup(plain, fonts.regular)
    before, after = plain.split(url, 1)
    link = f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>'
    return fonts.markup(before, fonts.regular) + link + fonts.markup(after, fonts.regular)
