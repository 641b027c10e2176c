"""Qt layer of the controlroom console: widgets, Qt models and the map view."""
