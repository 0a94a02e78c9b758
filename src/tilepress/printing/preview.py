"""The PNG preview: page 1 of a PDF rendered with pdfium (imported only when called)."""

from __future__ import annotations

import io
from pathlib import Path

from tilepress.errors import PrintError
from tilepress.files import write_bytes_atomic


def render_preview(pdf_path: Path, png_path: Path, *, dpi: int = 110) -> None:
    """Render page 1 of a PDF to a PNG with pdfium (atomically; same PDF, same bytes)."""
    import pypdfium2 as pdfium

    if dpi <= 0:
        raise PrintError(f"dpi must be positive, got {dpi}", where=str(pdf_path))
    try:
        document = pdfium.PdfDocument(str(pdf_path))
    except pdfium.PdfiumError as error:
        raise PrintError(f"cannot open the PDF: {error}", where=str(pdf_path)) from None
    try:
        image = document[0].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    write_bytes_atomic(Path(png_path), buffer.getvalue())
