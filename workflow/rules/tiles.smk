# Vector tiles (z/x/y folder, MBTiles, PMTiles), TileJSON and the MapLibre style of each map.


rule tiles:
    input:
        source=source_file,
    output:
        folder=directory(f"{OUT}/{{map}}/tiles"),
        mbtiles=f"{OUT}/{{map}}/{{map}}.mbtiles",
        pmtiles=f"{OUT}/{{map}}/{{map}}.pmtiles",
        report=f"{OUT}/{{map}}/tiles-report.json",
    params:
        spec=spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    log:
        "logs/{map}/tiles.log",
    benchmark:
        "benchmarks/{map}/tiles.tsv"
    threads: 8
    resources:
        mem_mb=2000,
    shell:
        "tilepress step tiles --spec {params.spec:q} --source {input.source:q} "
        "--out {params.out:q} --threads {threads} 2> {log:q}"


rule style:
    input:
        source=source_file,
    output:
        tilejson=f"{OUT}/{{map}}/tiles.json",
        style=f"{OUT}/{{map}}/style.json",
    params:
        spec=spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    log:
        "logs/{map}/style.log",
    shell:
        "tilepress step style --spec {params.spec:q} --source {input.source:q} "
        "--out {params.out:q} 2> {log:q}"
