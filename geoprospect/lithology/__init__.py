"""Lithological mapping from multispectral scenes."""
