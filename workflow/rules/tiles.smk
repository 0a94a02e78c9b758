# Vector tiles (z/x/y folder, MBTiles, PMTiles) of each map.
# The tile geometry (countries cut and encoded, borders) depends only on the source and the
# zoom range: it is built once and shared by every map using them, and kept for the next
# run. tile_geometry: in one job, for pyramids up to zoom 7; deeper, generalize runs once and
# tile_part cuts each shard. tiles: a map's tiles assembled from it with the map's colours,
# groups, labels, markers and overlays. archives: its MBTiles and PMTiles, with its title.


rule tile_geometry:
    input:
        source=lambda wildcards: PROJECT.sources[wildcards.source].local_path,
    output:
        directory(f"{OUT}/.cache/{{source}}/z{{zmin}}-{{zmax}}.geometry"),
    log:
        "logs/tile-geometry/{source}-z{zmin}-{zmax}.log",
    benchmark:
        "benchmarks/tile-geometry/{source}-z{zmin}-{zmax}.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 8
    resources:
        mem_mb=2000,
    params:
        source=source_json,
    shell:
        "tilepress step tile-geometry --source-spec {params.source:q} --source {input.source:q} "
        "--zooms {wildcards.zmin}-{wildcards.zmax} --out {output:q} --threads {threads} "
        "2> {log:q}"


rule generalize:
    input:
        source=lambda wildcards: PROJECT.sources[wildcards.source].local_path,
    output:
        f"{OUT}/.cache/{{source}}/z{{zmin}}-{{zmax}}.pyramid",
    log:
        "logs/generalize/{source}-z{zmin}-{zmax}.log",
    benchmark:
        "benchmarks/generalize/{source}-z{zmin}-{zmax}.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 8
    resources:
        mem_mb=2000,
    params:
        source=source_json,
    shell:
        "tilepress step generalize --source-spec {params.source:q} --source {input.source:q} "
        "--zooms {wildcards.zmin}-{wildcards.zmax} --out {output:q} --threads {threads} "
        "2> {log:q}"


rule tile_part:
    input:
        source=lambda wildcards: PROJECT.sources[wildcards.source].local_path,
        generalized=f"{OUT}/.cache/{{source}}/z{{zmin}}-{{zmax}}.pyramid",
    output:
        f"{OUT}/.cache/{{source}}/z{{zmin}}-{{zmax}}.parts/{{shard}}.part",
    log:
        "logs/tile-part/{source}-z{zmin}-{zmax}-{shard}.log",
    benchmark:
        "benchmarks/tile-part/{source}-z{zmin}-{zmax}-{shard}.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        source=source_json,
    shell:
        "tilepress step tile-part --source-spec {params.source:q} --source {input.source:q} "
        "--zooms {wildcards.zmin}-{wildcards.zmax} --generalized {input.generalized:q} "
        "--shard {wildcards.shard} --out {output:q} 2> {log:q}"


rule tiles:
    input:
        source=source_file,
        overlays=overlay_files,
        geometry=tile_geometry,
    output:
        folder=directory(f"{OUT}/{{map}}/tiles"),
        report=f"{OUT}/{{map}}/tiles-report.json",
        store=f"{OUT}/.cache/maps/{{map}}.tiles",
    log:
        "logs/{map}/tiles.log",
    benchmark:
        "benchmarks/{map}/tiles.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        spec=tile_spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    shell:
        "tilepress step assemble-tiles --spec {params.spec:q} --source {input.source:q} "
        "--out {params.out:q} --store {output.store:q} {input.geometry:q} 2> {log:q}"


rule archives:
    input:
        source=source_file,
        store=map_tile_store,
    output:
        mbtiles=f"{OUT}/{{map}}/{{map}}.mbtiles",
        pmtiles=f"{OUT}/{{map}}/{{map}}.pmtiles",
    log:
        "logs/{map}/archives.log",
    benchmark:
        "benchmarks/{map}/archives.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    params:
        spec=spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    shell:
        "tilepress step archives --spec {params.spec:q} --source {input.source:q} "
        "--store {input.store:q} --out {params.out:q} 2> {log:q}"
