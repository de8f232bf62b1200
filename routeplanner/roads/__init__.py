"""Road networks from OpenStreetMap files, prepared once and cached as arrays."""
