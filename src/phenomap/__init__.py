"""phenomap: from PLINK genotypes or GWAS summary statistics to genes, loci and predictions."""

__version__ = "0.1.0"
