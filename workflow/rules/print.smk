# The print handout of each map in one job: the screen PDF, the SVG of its map, the CMYK print
# variant (crop marks, bleed) and a PNG preview of the screen PDF, from one read of the source
# and one projected and generalized geometry.


rule print_sheet:
    input:
        source=source_file,
        overlays=overlay_files,
    output:
        pdf=f"{OUT}/{{map}}/{{map}}.pdf",
        svg=f"{OUT}/{{map}}/{{map}}.svg",
        print_pdf=f"{OUT}/{{map}}/{{map}}-print.pdf",
        png=f"{OUT}/{{map}}/{{map}}.png",
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
        "--out {output.pdf:q} --svg {output.svg:q} --print-pdf {output.print_pdf:q} "
        "--png {output.png:q} 2> {log:q}"
