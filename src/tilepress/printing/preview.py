"""The PNG preview: page 1 of a PDF rendered with pdfium (imported only when called)."""

from __future__ import annotations

import io
from pathlib import Path

from tilepress.errors import PrintError
from tilepress.files import write_bytes_atomic

PREVIEW_DPI = 110


def render_preview(pdf_path: Path, png_path: Path, *, dpi: int = PREVIEW_DPI) -> None:
    """Render page 1 of a PDF file to a PNG with pdfium (atomically; same PDF, same bytes)."""
    write_bytes_atomic(Path(png_path), preview_png(Path(pdf_path), dpi=dpi, where=str(pdf_path)))


def preview_png(pdf: bytes | Path, *, dpi: int = PREVIEW_DPI, where: str = "the PDF") -> bytes:
    """Page 1 of a PDF (its bytes, or its file) as PNG bytes; the same PDF gives the same bytes.
    pdfium and zlib release the GIL, so another thread can draw meanwhile."""
    import pypdfium2 as pdfium

    if dpi <= 0:
        raise PrintError(f"dpi must be positive, got {dpi}", where=where)
    try:
        document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    except pdfium.PdfiumError as error:
        raise PrintError(f"cannot open the PDF: {error}", where=where) from None
    try:
        image = document[0].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
