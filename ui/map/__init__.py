"""The live map: panel (QWebEngine view of the folium base map), feed (units and incidents to the map), base_map, tile_scheme."""
