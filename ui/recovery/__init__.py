"""Vehicle Recovery Scheme panel."""
