"""Report figures: effect scatters with cluster ellipses, Manhattan and QQ plots of the clustering and gene stage,
cross-validation and pipeline-search figures."""
