# Sources named by URL are downloaded once into data/ and checked against their SHA-256.
for remote in [s for s in PROJECT.sources.values() if s.url is not None]:

    rule:
        name:
            f"fetch_{remote.name.replace('-', '_')}"
        output:
            remote.local_path,
        log:
            f"logs/sources/{remote.name}.log",
        retries: 2
        conda:
            "../envs/tilepress.yaml"
        params:
            url=remote.url,
            sha256=remote.sha256,
            name=remote.name,
        shell:
            "tilepress step fetch --url {params.url:q} --sha256 {params.sha256} "
            "--name {params.name:q} --out {output:q} 2> {log:q}"
