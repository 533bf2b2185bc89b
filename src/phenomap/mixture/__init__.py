"""Association clustering: a zero-mean Dirichlet-process Gaussian mixture of shrunk effects and
the typing of its components (trait-specific, shared, mixed)."""
