"""Snakemake script of checkpoint ld_blocks: partition the LD reference into blocks."""

from phenomap.ld.blocks import make_ld_blocks
from phenomap.logging import rule_logging

ld = snakemake.params.ld
with rule_logging(snakemake.log[0]):
    make_ld_blocks(
        snakemake.params.panel,
        snakemake.output.blocks,
        source=snakemake.params.source,
        table=snakemake.input.table or None,
        population=snakemake.params.population,
        build=snakemake.params.build,
        resources_dir=snakemake.params.resources_dir,
        target_variants=ld["target_variants"],
        min_variants=ld["min_variants"],
        max_variants=ld["max_variants"],
        window=ld["window"],
        chunk=ld["chunk_variants"],
    )
