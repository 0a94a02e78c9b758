# Shared helpers: the resolved configuration and the paths of each map's outputs.
import json
from dataclasses import asdict

from tilepress.config.step_settings import step_settings
from tilepress.outputs import geometry_inputs, map_outputs, tile_store
from tilepress.cli.checked_config import from_mapping
from tilepress.tiles.shards import SHARD_PATTERN

# Validates every key and looks up every highlighted country before any job starts; the
# look-up is skipped when `tilepress run` (same process) or an earlier run made it for the
# same highlights and source files (tilepress.cli.checked_config).
PROJECT = from_mapping(config, source="the workflow configuration")
OUT = PROJECT.output_dir


wildcard_constraints:
    map="|".join(PROJECT.map_ids),
    source="|".join(PROJECT.sources),
    zmin=r"\d+",
    zmax=r"\d+",
    shard=SHARD_PATTERN,


def map_spec(wildcards):
    return PROJECT.map(wildcards.map)


def spec_json(wildcards):
    """The map's resolved settings: a changed value reruns exactly the rules that use it.

    The shard count is left out: how the tiles are cut changes no output.
    """
    return json.dumps(step_settings(map_spec(wildcards), "all"), sort_keys=True)


def tile_spec_json(wildcards):
    """The settings the tile assembly reads: its tags and layers, none of the map's text."""
    return json.dumps(step_settings(map_spec(wildcards), "tiles"), sort_keys=True)


def glyph_spec_json(wildcards):
    """The settings the glyphs read: the labelled names and fonts, none of the colours."""
    return json.dumps(step_settings(map_spec(wildcards), "glyphs"), sort_keys=True)


def source_file(wildcards):
    return map_spec(wildcards).source.local_path


def overlay_files(wildcards):
    """The map's overlay files: a changed one reruns what draws it (tiles, print sheets)."""
    return [overlay.local_path for overlay in map_spec(wildcards).overlays]


def source_json(wildcards):
    """The source's settings, for the rules of its shared tile geometry."""
    return json.dumps(asdict(PROJECT.sources[wildcards.source]), sort_keys=True)


def tile_geometry(wildcards):
    """The shared tile geometry of the map's source and zoom range (one folder, or the part
    file of each shard), assembled by rule `tiles` into the map's tiles."""
    return geometry_inputs(OUT, map_spec(wildcards))


def map_tile_store(wildcards):
    """The map's assembled tiles, which rule `archives` writes its MBTiles and PMTiles from."""
    return tile_store(OUT, wildcards.map)


def all_outputs():
    return [path for spec in PROJECT.maps for path in map_outputs(OUT, spec.id)]
