"""StarBASE-GP style search for predictive SNP sets (Hernandez et al. 2025).

``encodings`` (the nine inheritance encodings of a genotype, PAGER fitted on training
samples), ``snpdb`` (the SNP database: marginal validation r² of every SNP under every
encoding, best encoding, bins, consideration flags), ``nodes`` (pipeline nodes as JSON
round-trippable dataclasses that build scikit-learn pipelines, including the LD-pruning
transformer), ``nsga`` (the NSGA-II search over pipelines, resumable from checkpoints) and
``consistency`` (Pareto fronts, permutation importance, SNP consistency scores, QTL calls);
``files`` is the I/O layer of the workflow's rules (split and SNP database, one replicate, summary).
"""
