"""What the workflow builds for each map: the paths Snakemake's rules name while it parses
the workflow (``workflow/rules/common.smk``). Kept light: the workflow imports it at start."""

from __future__ import annotations

from tilepress.config.model import MapSpec
from tilepress.tiles.shards import plan_shards


def map_outputs(output_dir: str, map_id: str) -> list[str]:
    """Every file and folder the workflow builds for one map."""
    base = f"{output_dir}/{map_id}"
    return [
        f"{base}/tiles",
        f"{base}/{map_id}.mbtiles",
        f"{base}/{map_id}.pmtiles",
        f"{base}/tiles.json",
        f"{base}/style.json",
        f"{base}/{map_id}.pdf",
        f"{base}/{map_id}.svg",
        f"{base}/{map_id}-print.pdf",
        f"{base}/{map_id}.png",
        f"{base}/glyphs",
        f"{base}/web",
    ]


# A source's tile geometry up to this zoom is one job (in its own worker processes); deeper,
# or with a shard count set, it is generalized once and cut in shard jobs (a cluster's way).
SINGLE_GEOMETRY_JOB_MAX_ZOOM = 7


def geometry_base(output_dir: str, spec: MapSpec) -> str:
    """Where the shared tile geometry of the map's source and zoom range lives (no suffix)."""
    return f"{output_dir}/.cache/{spec.source.name}/z{spec.min_zoom}-{spec.max_zoom}"


def geometry_inputs(output_dir: str, spec: MapSpec) -> list[str]:
    """The shared tile geometry a map's tiles are assembled from: the folder of the one
    geometry job, or the part file of each shard job (see
    :func:`tilepress.tiles.shards.plan_shards`)."""
    base = geometry_base(output_dir, spec)
    if spec.shards is None and spec.max_zoom <= SINGLE_GEOMETRY_JOB_MAX_ZOOM:
        return [f"{base}.geometry"]
    shards = plan_shards(spec.min_zoom, spec.max_zoom, spec.shards)
    return [f"{base}.parts/{shard.name}.part" for shard in shards]


def tile_store(output_dir: str, map_id: str) -> str:
    """The map's assembled tiles, each once, that its archives are written from."""
    return f"{output_dir}/.cache/maps/{map_id}.tiles"
