"""A PNG's text chunks read without decoding a single pixel: the chunk list is walked up to
IEND, so neither a decompression bomb in the image data nor a huge canvas costs anything, and
compressed text is inflated at most `MAX_TEXT` bytes per chunk."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 1 << 20  # bytes of one text value, once inflated
MAX_CHUNKS = 10_000
PARAMETER_KEYS = frozenset({"parameters"})  # the only text generation parameters are read from


class NotAPng(ValueError):
    """The bytes are not a PNG (or end before its chunks do)."""


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT)
    except zlib.error as error:
        raise NotAPng(f"a compressed text chunk is corrupt: {error}") from None
    return out


def png_text(data: bytes, keys: frozenset[str] | None = None) -> dict[str, str]:
    """Every tEXt, zTXt and iTXt chunk as key -> text (the last one wins for a repeated key);
    with `keys`, only those (the others are never inflated, so a file of many compressed
    chunks costs no memory)."""
    if not data.startswith(SIGNATURE):
        raise NotAPng("not a PNG file (the signature is missing)")
    found: dict[str, str] = {}
    offset = len(SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if offset + 8 > len(data):
            raise NotAPng("the PNG ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if len(body) < length:
            raise NotAPng("the PNG ends inside a chunk")
        offset += 12 + length
        if kind == b"IEND":
            return found
        entry = _text(kind, body, keys)
        if entry is not None:
            found[entry[0]] = entry[1]
    raise NotAPng("too many chunks")


def _text(kind: bytes, body: bytes, keys: frozenset[str] | None) -> tuple[str, str] | None:
    if kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    key, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    name = key.decode("latin-1")
    if keys is not None and name not in keys:
        return None
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        return None
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    raw = _inflate(text) if compressed else text
    return name, raw.decode("utf-8", errors="replace")


class PngTextReader:
    """The ImageTextReader port over `png_text`."""

    def text_chunks(self, data: bytes) -> dict[str, str]:
        return png_text(data, PARAMETER_KEYS)
