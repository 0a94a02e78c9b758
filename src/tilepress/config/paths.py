"""Where the installation keeps the workflow, its schema and the embedded data: a source
checkout, or the copies an installed wheel carries."""

from __future__ import annotations

from pathlib import Path

from tilepress.errors import ConfigError

BUILTIN_SOURCE_FILE = "ne_10m_admin_0_countries_deu.zip"


def project_root() -> Path:
    """Folder holding the Snakefile, ``workflow/`` and ``data/``.

    A source checkout (editable install) is preferred; an installed wheel carries a copy.
    """
    package_dir = Path(__file__).resolve().parent.parent  # src/tilepress
    checkout = package_dir.parent.parent
    if (checkout / "Snakefile").is_file() and (checkout / "workflow").is_dir():
        return checkout
    bundled = package_dir / "workflow"
    if (bundled / "Snakefile").is_file():
        return bundled
    raise ConfigError(["cannot find the tilepress workflow (Snakefile) next to the package"])


def schema_path() -> Path:
    """Path of the JSON schema (YAML) that defines the configuration."""
    return project_root() / "workflow" / "schemas" / "config.schema.yaml"


def builtin_source_path() -> Path:
    """The embedded Natural Earth file: ``data/`` of the working folder, else the packaged copy."""
    local = Path("data") / BUILTIN_SOURCE_FILE
    if local.is_file():
        return local
    return project_root() / "data" / BUILTIN_SOURCE_FILE
