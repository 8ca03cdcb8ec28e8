"""Files: atomic writes, checksums and image grids."""
