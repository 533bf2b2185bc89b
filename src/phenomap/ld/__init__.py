"""LD blocks (partition of the variants) and LD within each block (correlations, LD scores)."""
