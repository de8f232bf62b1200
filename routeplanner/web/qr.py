"""QR codes as inline SVG, drawn on the server (no script, nothing fetched by the browser)."""

from __future__ import annotations

import segno


def qr_svg(text: str, *, title: str) -> str:
    """An SVG QR code of ``text`` for embedding in a page (sized by CSS through its class).

    The code has medium error correction, enough for a camera pointed at a laptop screen.
    """
    code = segno.make_qr(text, error="m")
    svg: str = code.svg_inline(
        scale=4, border=2, title=title, svgclass="qr", lineclass=None, omitsize=True
    )
    return svg
