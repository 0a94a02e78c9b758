"""A configuration file as YAML, with the line of every key, for messages that say where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilepress.errors import ConfigError

if TYPE_CHECKING:
    import yaml


def line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each key path of a YAML document to its 1-based line."""
    import yaml  # YAML, PIL and jsonschema are imported where used: `tilepress step` needs none

    index: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = (*path, str(key_node.value))
                walk(value_node, key_path)
                index[key_path] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                walk(item, (*path, position))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return index
    if root is not None:
        walk(root, ())
    return index


@dataclass
class ConfigDocument:
    """A configuration as read from a file, with the line of each key for error messages."""

    data: dict[str, Any]
    path: str | None = None
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def where(self, key_path: tuple[str | int, ...]) -> str:
        """Human form of a key path, with file and line when known."""
        dotted = format_key_path(key_path)
        probe = key_path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        location = self.path or "config"
        if line is not None:
            location += f":{line}"
        return f"{location}: {dotted}" if dotted else location


def format_key_path(key_path: tuple[str | int, ...]) -> str:
    """``('maps', 0, 'zoom')`` becomes ``maps[0].zoom``."""
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def read_config_file(path: str | Path) -> ConfigDocument:
    """Read a YAML configuration; a syntax error names the file and line."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read ({error.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{path}{line}: invalid YAML ({problem})"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the file must hold a mapping with a `maps:` list"])
    return ConfigDocument(data=data, path=str(path), lines=line_index(text))
