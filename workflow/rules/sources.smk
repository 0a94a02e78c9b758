# Sources named by URL are fetched by Snakemake's HTTP(S) storage plugin (retried on failure),
# then checked against their SHA-256 and put into data/ once.
for remote in [s for s in PROJECT.sources.values() if s.url is not None]:

    rule:
        name:
            f"fetch_{remote.name.replace('-', '_')}"
        input:
            storage.http(remote.url),
        output:
            remote.local_path,
        log:
            f"logs/sources/{remote.name}.log",
        retries: 2
        conda:
            "../envs/tilepress.yaml"
        params:
            sha256=remote.sha256,
            name=remote.name,
        shell:
            "tilepress step fetch --input {input:q} --sha256 {params.sha256} "
            "--name {params.name:q} --out {output:q} 2> {log:q}"


# Overlays named by URL, likewise: fetched once into data/overlays/ (named by their SHA-256).
for remote in {
    o.local_path: o for m in PROJECT.maps for o in m.overlays if o.url
}.values():

    rule:
        name:
            f"fetch_overlay_{remote.sha256[:16]}"
        input:
            storage.http(remote.url),
        output:
            remote.local_path,
        log:
            f"logs/overlays/{remote.sha256[:16]}.log",
        retries: 2
        conda:
            "../envs/tilepress.yaml"
        params:
            sha256=remote.sha256,
            name=f"overlay {remote.label}",
        shell:
            "tilepress step fetch --input {input:q} --sha256 {params.sha256} "
            "--name {params.name:q} --out {output:q} 2> {log:q}"
