"""tilepress: highlighted-country maps as vector tiles, a tile server and a print PDF."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tilepress")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
