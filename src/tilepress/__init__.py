"""tilepress: highlighted-country maps as vector tiles, a tile server and a print PDF."""

# The one place the version is written: pyproject.toml reads it from here (hatch), and every
# `tilepress step` process saves the import of importlib.metadata.
__version__ = "0.1.0"

__all__ = ["__version__"]
