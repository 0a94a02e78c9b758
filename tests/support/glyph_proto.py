"""An independent reader of glyph PBFs: node-fontnik's ``glyphs.proto`` built with protobuf's
descriptor API (the same message definitions MapLibre's parser follows), so the tests decode
what tilepress writes with Google's protobuf runtime instead of tilepress's own code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "fontnik.test"
_F = descriptor_pb2.FieldDescriptorProto


@dataclass(frozen=True)
class DecodedGlyph:
    id: int
    bitmap: bytes
    has_bitmap: bool
    width: int
    height: int
    left: int
    top: int
    advance: int


@dataclass(frozen=True)
class DecodedStack:
    name: str
    range: str
    glyphs: list[DecodedGlyph]

    def by_id(self) -> dict[int, DecodedGlyph]:
        return {glyph.id: glyph for glyph in self.glyphs}


def _field(
    message: Any, name: str, number: int, kind: int, label: int, type_name: str = ""
) -> None:
    field = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = f".{_PACKAGE}.{type_name}"


@cache
def _glyphs_class() -> Any:
    """The ``glyphs`` message class of glyphs.proto (proto2, required fields checked)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="fontnik_glyphs_test.proto", package=_PACKAGE, syntax="proto2"
    )
    required, optional, repeated = _F.LABEL_REQUIRED, _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    glyph = proto.message_type.add(name="glyph")
    _field(glyph, "id", 1, _F.TYPE_UINT32, required)
    _field(glyph, "bitmap", 2, _F.TYPE_BYTES, optional)
    _field(glyph, "width", 3, _F.TYPE_UINT32, required)
    _field(glyph, "height", 4, _F.TYPE_UINT32, required)
    _field(glyph, "left", 5, _F.TYPE_SINT32, required)
    _field(glyph, "top", 6, _F.TYPE_SINT32, required)
    _field(glyph, "advance", 7, _F.TYPE_UINT32, required)
    stack = proto.message_type.add(name="fontstack")
    _field(stack, "name", 1, _F.TYPE_STRING, required)
    _field(stack, "range", 2, _F.TYPE_STRING, required)
    _field(stack, "glyphs", 3, _F.TYPE_MESSAGE, repeated, "glyph")
    glyphs = proto.message_type.add(name="glyphs")
    _field(glyphs, "stacks", 1, _F.TYPE_MESSAGE, repeated, "fontstack")
    glyphs.extension_range.add(start=16, end=8192)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.glyphs"))


def decode_glyphs(data: bytes) -> list[DecodedStack]:
    """Every fontstack of a glyph PBF; raises protobuf's DecodeError when it is malformed and
    ValueError when a required field is missing."""
    message = _glyphs_class()()
    message.ParseFromString(data)
    if not message.IsInitialized():
        raise ValueError(f"required fields missing: {message.FindInitializationErrors()}")
    return [
        DecodedStack(
            stack.name,
            stack.range,
            [
                DecodedGlyph(
                    g.id,
                    g.bitmap,
                    g.HasField("bitmap"),
                    g.width,
                    g.height,
                    g.left,
                    g.top,
                    g.advance,
                )
                for g in stack.glyphs
            ],
        )
        for stack in message.stacks
    ]


def decode_stack(data: bytes) -> DecodedStack:
    """The one fontstack of a glyph PBF."""
    stacks = decode_glyphs(data)
    assert len(stacks) == 1, f"{len(stacks)} fontstacks in one range"
    return stacks[0]
