"""Compressed answers for the pages reps load on phones.

A day page is mostly an inline SVG map, slow over a weak mobile signal unless compressed.
Compressing on every request would spend the CPU a busy server lacks, so the cached answers
keep a compressed copy made once, on the cache miss, and a request picks the copy its
``Accept-Encoding`` allows. Everything else goes through Starlette's
``GZipMiddleware``, which leaves these already-encoded answers alone.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from fastapi import Request, Response

GZIP_LEVEL = 6
"""zlib's default: higher levels cost far more CPU for little on these pages."""


@dataclass(frozen=True, slots=True)
class Packed:
    """One answer body, plain and gzipped (``gz`` is None when compression does not pay)."""

    plain: bytes
    gz: bytes | None


def pack(body: bytes, *, minimum_size: int = 1000) -> Packed:
    """Compress once, for every later hit of the cached answer."""
    if len(body) < minimum_size:
        return Packed(body, None)
    gz = gzip.compress(body, GZIP_LEVEL, mtime=0)  # mtime 0: the same bytes for the same body
    return Packed(body, gz if len(gz) < len(body) else None)


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip (``gzip`` or ``*`` in Accept-Encoding, not with q=0)."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                if float(q[2:]) == 0.0:
                    continue
            except ValueError:
                continue
        return True
    return False


def packed_response(request: Request, body: Packed, media_type: str) -> Response:
    """The copy of ``body`` this client can read, with ``Vary`` so proxies keep both apart."""
    headers = {"Vary": "Accept-Encoding"}
    if body.gz is not None and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(body.gz, media_type=media_type, headers=headers)
    return Response(body.plain, media_type=media_type, headers=headers)
