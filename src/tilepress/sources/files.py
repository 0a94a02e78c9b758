"""A source file's features as read by GDAL (through pyogrio): WKB and attribute columns, read
in this process or, ahead of time, in a forked one while this one loads its libraries.

This module imports nothing heavy at its top: a tiles step forks the reader before it imports
numpy's, GEOS's and PROJ's bindings (a fifth of a second), and the reader imports only
pyogrio, so reading Natural Earth 10m (a tenth of a second) costs no time of its own.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilepress.config.model import LABEL_LANGUAGES

if TYPE_CHECKING:
    from tilepress.config.model import SourceSpec

# Fields whose values identify a country by code, and by name (matched case-insensitively).
CODE_FIELDS = ("ADM0_A3", "ISO_A3", "ISO_A3_EH", "ADM0_ISO")
NAME_FIELDS = (
    "NAME_EN",
    "NAME",
    "NAME_LONG",
    "ADMIN",
    "GEOUNIT",
    "FORMAL_EN",
    "NAME_SORT",
    "NAME_ALT",
    "NAME_CIAWF",
    "BRK_NAME",
    "SUBUNIT",
)
# Other fields a map's tiles and style use: ISO code, label points, zooms, label names.
MAP_FIELDS = (
    "ISO_A2",
    "ISO_A2_EH",
    "LABEL_X",
    "LABEL_Y",
    "MIN_LABEL",
    "MIN_ZOOM",
    *(f"NAME_{language.upper()}" for language in LABEL_LANGUAGES),
)


def map_fields(spec: SourceSpec) -> tuple[str, ...]:
    """The fields a map reads from its source (those the source lacks are skipped): its code
    and name fields, the others that identify countries, and :data:`MAP_FIELDS`. Natural
    Earth has 168; reading only these 46 is a quarter quicker."""
    return tuple(
        dict.fromkeys((spec.code_field, spec.name_field, *CODE_FIELDS, *NAME_FIELDS, *MAP_FIELDS))
    )


@dataclass
class SourceFeatures:
    """What GDAL read: the layer's metadata (``fields``, ``crs``...), each feature's geometry
    as WKB (None where it has none) and one array per field."""

    meta: dict[str, Any]
    wkb: Any  # numpy array of bytes objects
    columns: list[Any]  # numpy arrays


@dataclass(frozen=True)
class SourceFile:
    """How GDAL reads a source file: the path it opens, the layer, the text encoding and the
    attribute fields (None: all)."""

    path: Path
    layer: str | None
    encoding: str | None
    fields: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        spec: SourceSpec,
        path: str | Path | None = None,
        fields: tuple[str, ...] | None = None,
    ) -> SourceFile:
        """The source's file (``path``, else its own). A zip is read through GDAL's
        ``/vsizip/`` (unless a layer names its member); a shapefile's text is UTF-8 unless
        the source's ``encoding`` says otherwise."""
        path = Path(path or spec.local_path)
        encoding = spec.encoding
        shapefile = path.is_file() and ".shp" in "".join(path.suffixes).lower() + _zip_members(path)
        if encoding is None and shapefile:
            encoding = "UTF-8"
        return cls(path, spec.layer, encoding, fields)

    @property
    def gdal_path(self) -> str | Path:
        """The path as GDAL opens it."""
        if self.path.suffix.lower() == ".zip" and self.layer is None:
            return f"/vsizip/{self.path}"
        return self.path

    def read(self) -> SourceFeatures:
        """Read every feature (pyogrio's errors pass through)."""
        import pyogrio.raw  # here: see the module's docstring

        meta, _fids, wkb, columns = pyogrio.raw.read(
            self.gdal_path, layer=self.layer, encoding=self.encoding, columns=self.fields
        )
        return SourceFeatures(meta, wkb, list(columns))

    def all_fields(self) -> list[str]:
        """Every attribute field of the layer, also those not read."""
        import pyogrio

        info = pyogrio.read_info(self.gdal_path, layer=self.layer, encoding=self.encoding)
        return [str(name) for name in info["fields"]]


def read_errors() -> tuple[type[Exception], ...]:
    """What reading a bad file raises (GDAL's errors through pyogrio, a broken zip, a file
    that cannot be opened or decoded): reported as that file's problem. Anything else is a
    bug and keeps its traceback."""
    import pyogrio.errors

    return (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,  # and its CRS, feature, field and geometry errors
        zipfile.BadZipFile,
        UnicodeError,
        OSError,
    )


def _zip_members(path: Path) -> str:
    if path.suffix.lower() != ".zip":
        return ""
    with zipfile.ZipFile(path) as archive:
        return " ".join(archive.namelist()).lower()


class ReadAhead:
    """A source file being read by a forked process; :meth:`result` collects its features.

    The reader sends them pickled through a pipe (a few milliseconds for Natural Earth 10m).
    If it fails for any reason, :meth:`result` gives None and the caller reads the file itself,
    so errors are reported exactly as without reading ahead.
    """

    def __init__(self, pid: int, pipe: int) -> None:
        self._pid, self._pipe = pid, pipe

    @classmethod
    def start(cls, source: SourceFile) -> ReadAhead | None:
        """Fork a reader, or None where that cannot help or is unsafe: without ``fork``, with
        other threads running (the child could inherit a held lock), or when pyogrio is already
        imported (reading then takes no longer than collecting would)."""
        if (
            not hasattr(os, "fork")
            or threading.active_count() > 1
            or "pyogrio" in sys.modules
            or not source.path.is_file()
        ):
            return None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the reader: never returns
            status = 1
            try:
                os.close(read_end)
                # pyogrio imports these when present, for what it does besides reading raw
                # WKB: a None entry makes the import fail fast (the reader then starts in a
                # third of the time). Only this throwaway process's module table changes.
                for optional in ("pyarrow", "geopandas", "pandas", "pyproj", "shapely"):
                    sys.modules.setdefault(optional, None)  # type: ignore[arg-type]
                features = source.read()
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump(features, pipe, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            except BaseException:  # noqa: S110 - the parent reads the file itself
                pass
            finally:
                os._exit(status)
        os.close(write_end)
        return cls(pid, read_end)

    def result(self) -> SourceFeatures | None:
        """The reader's features (waiting for them), or None if it failed."""
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        _pid, status = os.waitpid(self._pid, 0)
        if status != 0 or not data:
            return None
        # Unpickling is safe here (S301 warns of untrusted data): our own child wrote it.
        features: SourceFeatures = pickle.loads(data)  # noqa: S301
        return features
