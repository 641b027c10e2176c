"""Intel checks panel."""
