# Vector tiles (z/x/y folder, MBTiles, PMTiles) of each map.
# generalize: once per source and zoom range, shared by every map using them. tile_part: one
# job per shard of a map (low zooms together, deep zooms in bands of tile rows), each writing
# a part file whole or not at all. tiles: streams the parts into the folder and archives.


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
        source=lambda wildcards: json.dumps(
            asdict(PROJECT.sources[wildcards.source]), sort_keys=True
        ),
    shell:
        "tilepress step generalize --source-spec {params.source:q} --source {input.source:q} "
        "--zooms {wildcards.zmin}-{wildcards.zmax} --out {output:q} --threads {threads} "
        "2> {log:q}"


rule tile_part:
    input:
        source=source_file,
        overlays=overlay_files,
        generalized=pyramid_file,
    output:
        temp(f"{OUT}/.parts/{{map}}/{{shard}}.part"),
    log:
        "logs/{map}/tiles-{shard}.log",
    benchmark:
        "benchmarks/{map}/tiles-{shard}.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        spec=spec_json,
    shell:
        "tilepress step tile-part --spec {params.spec:q} --source {input.source:q} "
        "--generalized {input.generalized:q} --shard {wildcards.shard} --out {output:q} "
        "2> {log:q}"


rule tiles:
    input:
        source=source_file,
        parts=tile_parts,
    output:
        folder=directory(f"{OUT}/{{map}}/tiles"),
        mbtiles=f"{OUT}/{{map}}/{{map}}.mbtiles",
        pmtiles=f"{OUT}/{{map}}/{{map}}.pmtiles",
        report=f"{OUT}/{{map}}/tiles-report.json",
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
        spec=spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    shell:
        "tilepress step merge-tiles --spec {params.spec:q} --source {input.source:q} "
        "--out {params.out:q} {input.parts:q} 2> {log:q}"
