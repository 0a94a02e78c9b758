# The print handout of each map: the screen PDF with the SVG of its map (one run, the same
# geometry), the CMYK print variant (crop marks, bleed) and a PNG preview of the screen PDF.


rule print_sheet:
    input:
        source=source_file,
        overlays=overlay_files,
    output:
        pdf=f"{OUT}/{{map}}/{{map}}.pdf",
        svg=f"{OUT}/{{map}}/{{map}}.svg",
    log:
        "logs/{map}/print.log",
    benchmark:
        "benchmarks/{map}/print.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        spec=spec_json,
    shell:
        "tilepress step print --spec {params.spec:q} --source {input.source:q} "
        "--out {output.pdf:q} --svg {output.svg:q} 2> {log:q}"


rule print_cmyk:
    input:
        source=source_file,
        overlays=overlay_files,
    output:
        pdf=f"{OUT}/{{map}}/{{map}}-print.pdf",
    log:
        "logs/{map}/print-cmyk.log",
    benchmark:
        "benchmarks/{map}/print-cmyk.tsv"
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        spec=spec_json,
    shell:
        "tilepress step print --mode cmyk --spec {params.spec:q} --source {input.source:q} "
        "--out {output.pdf:q} 2> {log:q}"


rule preview:
    input:
        pdf=f"{OUT}/{{map}}/{{map}}.pdf",
    output:
        png=f"{OUT}/{{map}}/{{map}}.png",
    log:
        "logs/{map}/preview.log",
    conda:
        "../envs/tilepress.yaml"
    threads: 1
    shell:
        "tilepress step preview {input.pdf:q} {output.png:q} 2> {log:q}"
