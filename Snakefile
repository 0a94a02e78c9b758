# tilepress: highlighted-country maps as vector tiles, a tile server and a print PDF.
# Run with `tilepress run` or `snakemake --cores all`; rules live in workflow/rules/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/sources.smk"
include: "workflow/rules/tiles.smk"
include: "workflow/rules/print.smk"
include: "workflow/rules/web.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
