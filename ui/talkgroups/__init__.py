"""Talk groups panel."""
