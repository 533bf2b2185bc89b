"""Gene-level analysis: enrichment test of effects with quadratic-form p-values, and multi-trait
gene summaries (cluster-type fractions, effect products, shared and trait-specific candidates)."""
