"""Effect shrinkage: ML-MAGES style neural shrinkage of marginal GWAS effects and its baselines."""
