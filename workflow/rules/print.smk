# The print handout (PDF) of each map and its PNG preview.


rule print_sheet:
    input:
        source=source_file,
    output:
        pdf=f"{OUT}/{{map}}/{{map}}.pdf",
    log:
        "logs/{map}/print.log",
    benchmark:
        "benchmarks/{map}/print.tsv"
    conda:
        "../envs/tilepress.yaml"
    resources:
        mem_mb=1500,
    params:
        spec=spec_json,
    shell:
        "tilepress step print --spec {params.spec:q} --source {input.source:q} "
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
    shell:
        "tilepress step preview {input.pdf:q} {output.png:q} 2> {log:q}"
