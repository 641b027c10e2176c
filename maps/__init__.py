"""Map assets: shipped GeoJSON and the folium base-map builder."""
