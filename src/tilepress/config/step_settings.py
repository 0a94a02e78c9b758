"""Which of a map's settings each workflow step reads: the workflow passes each rule only
those (``params``), so a changed value reruns exactly the rules whose outputs it changes,
and the step, seeing no other, cannot depend on another by mistake.

A new title reruns the archives, style, print and bundle, but not the tile assembly; a new
colour reruns the assembly, style, print and bundle, but not the glyphs.
"""

from __future__ import annotations

from typing import Any

from tilepress.config.model import MapSpec

# The tile assembly: the countries' tags (groups, colours, patterns), labels and the map's
# own layers; no text of the map (its title goes into the archives' metadata only).
TILE_SETTINGS = ("id", "highlight", "source", "base_color", "min_zoom", "max_zoom")
TILE_LAYERS = ("markers", "overlays")
# The glyphs: which names are labelled, in which fonts.
GLYPH_SETTINGS = ("id", "source", "labels", "markers", "label_font", "glyphs")


def step_settings(spec: MapSpec, step: str) -> dict[str, Any]:
    """The settings of ``spec`` the step ``step`` reads (``tiles``, ``glyphs``; any other
    step: all but the shard count, which changes no output)."""
    settings = spec.to_dict()
    settings.pop("shards")
    if step == "tiles":
        return {key: settings[key] for key in (*TILE_SETTINGS, *TILE_LAYERS)}
    if step == "glyphs":
        chosen = {key: settings[key] for key in GLYPH_SETTINGS}
        # the groups' countries decide which names are labelled; their colours do not
        chosen["highlight"] = [
            {"label": g["label"], "color": "", "countries": g["countries"], "pattern": None}
            for g in settings["highlight"]
        ]
        chosen["print_options"] = {"cjk_font": settings["print_options"]["cjk_font"]}
        return chosen
    return settings
