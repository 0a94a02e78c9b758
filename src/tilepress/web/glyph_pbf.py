"""The glyph PBF format: one fontstack's range of 256 codepoints as a protocol buffer.

The messages of node-fontnik's ``proto/glyphs.proto`` (what MapLibre GL JS, MapLibre Native,
TileServer GL and Martin read)::

    message glyph { required uint32 id = 1; optional bytes bitmap = 2;
                    required uint32 width = 3; required uint32 height = 4;
                    required sint32 left = 5; required sint32 top = 6;
                    required uint32 advance = 7; }
    message fontstack { required string name = 1; required string range = 2;
                        repeated glyph glyphs = 3; }
    message glyphs { repeated fontstack stacks = 1; }

Written by hand (the format is seven fields deep), fields in number order, so the same glyphs
give the same bytes. The reader here only splits a file into its glyphs, to combine stacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "LAST_CODEPOINT",
    "RANGE_SIZE",
    "GlyphPbfError",
    "RenderedGlyph",
    "combine_ranges",
    "encode_range",
    "range_glyphs",
    "range_label",
]

RANGE_SIZE: Final = 256
"""Codepoints per glyph PBF."""
LAST_CODEPOINT: Final = 0xFFFF
"""The last codepoint a glyph PBF may hold (MapLibre 5.3 throws above it)."""

_VARINT: Final = 0
_BYTES: Final = 2


class GlyphPbfError(ValueError):
    """The bytes are not a glyph PBF."""


@dataclass(frozen=True, slots=True)
class RenderedGlyph:
    """One glyph as a glyph PBF stores it: its SDF bitmap (``(width + 6) x (height + 6)``
    bytes, top row first) and its metrics in whole pixels."""

    id: int
    bitmap: bytes
    width: int
    height: int
    left: int
    top: int
    advance: int


def range_label(start: int) -> str:
    """``"{start}-{end}"`` of the range starting at ``start`` (a multiple of 256)."""
    return f"{start}-{start + RANGE_SIZE - 1}"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _uint(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(value)


def _sint(field: int, value: int) -> bytes:
    return _uint(field, value << 1 if value >= 0 else (-value << 1) - 1)  # zigzag


def _bytes(field: int, data: bytes) -> bytes:
    return _key(field, _BYTES) + _varint(len(data)) + data


def encode_glyph(glyph: RenderedGlyph) -> bytes:
    """One ``glyph`` message (the bitmap only when the glyph has one)."""
    return b"".join(
        (
            _uint(1, glyph.id),
            _bytes(2, glyph.bitmap) if glyph.width > 0 and glyph.height > 0 else b"",
            _uint(3, glyph.width),
            _uint(4, glyph.height),
            _sint(5, glyph.left),
            _sint(6, glyph.top),
            _uint(7, glyph.advance),
        )
    )


def _stack(name: str, start: int, glyph_messages: Iterable[bytes]) -> bytes:
    body = b"".join(
        (
            _bytes(1, name.encode("utf-8")),
            _bytes(2, range_label(start).encode("ascii")),
            *(_bytes(3, message) for message in glyph_messages),
        )
    )
    return _bytes(1, body)


def encode_range(name: str, start: int, glyphs: Sequence[RenderedGlyph]) -> bytes:
    """The PBF of fontstack ``name``'s range at ``start``: its glyphs in codepoint order (no
    glyphs: the valid empty range, a fontstack with its name and range only)."""
    ordered = sorted(glyphs, key=lambda glyph: glyph.id)
    return _stack(name, start, (encode_glyph(glyph) for glyph in ordered))


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if offset >= len(data) or shift > 63:
            raise GlyphPbfError("truncated varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def _fields(data: bytes) -> Iterable[tuple[int, int | bytes]]:
    """(field number, value) of every field of a message: varints and length-delimited only."""
    offset = 0
    while offset < len(data):
        key, offset = _read_varint(data, offset)
        field, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, offset = _read_varint(data, offset)
            yield field, value
        elif wire_type == _BYTES:
            length, offset = _read_varint(data, offset)
            if offset + length > len(data):
                raise GlyphPbfError("truncated field")
            yield field, data[offset : offset + length]
            offset += length
        else:
            raise GlyphPbfError(f"unexpected wire type {wire_type}")


def range_glyphs(data: bytes) -> dict[int, bytes]:
    """The ``glyph`` messages of a glyph PBF, as sent, by codepoint (the first of each)."""
    found: dict[int, bytes] = {}
    for field, stack in _fields(data):
        if field != 1 or not isinstance(stack, bytes):
            continue
        for stack_field, message in _fields(stack):
            if stack_field != 3 or not isinstance(message, bytes):
                continue
            codepoint = next((v for f, v in _fields(message) if f == 1), None)
            if isinstance(codepoint, int):
                found.setdefault(codepoint, message)
    return found


def combine_ranges(name: str, start: int, ranges: Sequence[bytes]) -> bytes:
    """One fontstack named ``name`` holding the glyphs of ``ranges`` (PBFs of the same range):
    each codepoint from the first range that has it, as TileServer GL combines font lists."""
    combined: dict[int, bytes] = {}
    for data in ranges:
        for codepoint, message in range_glyphs(data).items():
            combined.setdefault(codepoint, message)
    return _stack(name, start, (combined[codepoint] for codepoint in sorted(combined)))
