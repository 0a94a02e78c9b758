# The web map of each map: TileJSON and MapLibre style, the SDF glyphs its labels are drawn
# with, and the static bundle (dist/<id>/web/: the viewer page with everything it loads, for
# any static host).


rule style:
    input:
        source=source_file,
    output:
        tilejson=f"{OUT}/{{map}}/tiles.json",
        style=f"{OUT}/{{map}}/style.json",
    log:
        "logs/{map}/style.log",
    conda:
        "../envs/tilepress.yaml"
    params:
        spec=spec_json,
        out=lambda wildcards: f"{OUT}/{wildcards.map}",
    shell:
        "tilepress step style --spec {params.spec:q} --source {input.source:q} "
        "--out {params.out:q} 2> {log:q}"


rule glyphs:
    input:
        source=source_file,
    output:
        directory(f"{OUT}/{{map}}/glyphs"),
    log:
        "logs/{map}/glyphs.log",
    benchmark:
        "benchmarks/{map}/glyphs.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    params:
        spec=glyph_spec_json,
    shell:
        "tilepress step glyphs --spec {params.spec:q} --source {input.source:q} "
        "--out {output:q} 2> {log:q}"


rule web_bundle:
    input:
        source=source_file,
        pmtiles=f"{OUT}/{{map}}/{{map}}.pmtiles",
        pdf=f"{OUT}/{{map}}/{{map}}.pdf",
        png=f"{OUT}/{{map}}/{{map}}.png",
        glyphs=f"{OUT}/{{map}}/glyphs",
    output:
        directory(f"{OUT}/{{map}}/web"),
    log:
        "logs/{map}/web-bundle.log",
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    params:
        spec=spec_json,
        map_dir=lambda wildcards: f"{OUT}/{wildcards.map}",
    shell:
        "tilepress step bundle --spec {params.spec:q} --source {input.source:q} "
        "--map-dir {params.map_dir:q} --out {output:q} 2> {log:q}"
