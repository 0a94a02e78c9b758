# Shared helpers: the resolved configuration and the paths of each map's outputs.
import json
from dataclasses import asdict

from tilepress.outputs import map_outputs, part_files
from tilepress.project import config_from_mapping
from tilepress.tiles.shards import SHARD_PATTERN

# Validates every key and looks up every highlighted country before any job starts.
PROJECT = config_from_mapping(config, source="the workflow configuration")
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
    settings = map_spec(wildcards).to_dict()
    settings.pop("shards")
    return json.dumps(settings, sort_keys=True)


def source_file(wildcards):
    return map_spec(wildcards).source.local_path


def overlay_files(wildcards):
    """The map's overlay files: a changed one reruns what draws it (tiles, print sheets)."""
    return [overlay.local_path for overlay in map_spec(wildcards).overlays]


def pyramid_file(wildcards):
    """Generalized geometry: shared by every map with the same source and zoom range."""
    spec = map_spec(wildcards)
    return f"{OUT}/.cache/{spec.source.name}/z{spec.min_zoom}-{spec.max_zoom}.pyramid"


def tile_parts(wildcards):
    """The part files of a map's tile jobs (one per shard), merged by rule `tiles`."""
    return part_files(OUT, map_spec(wildcards))


def all_outputs():
    return [path for spec in PROJECT.maps for path in map_outputs(OUT, spec.id)]
