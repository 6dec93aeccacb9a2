"""Brand inputs that reach the browser: logos are decoded and re-encoded, colours are validated.

A logo is accepted only if Pillow can decode it as PNG, JPEG, WebP or GIF. It is then redrawn into a fresh
PNG, which drops metadata, trailing bytes (polyglots) and animation; SVG is never accepted, so no script
can travel inside a logo.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from partnerhub.errors import DomainError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
LOGO_MAX_BOX = (1200, 400)


@dataclass(frozen=True)
class ProcessedImage:
    content: ContentFile
    width: int
    height: int
    digest: str


def process_logo(upload, *, field: str = "logo") -> ProcessedImage:
    """Validate an uploaded logo by its content and return a re-encoded PNG.

    Raises ``DomainError`` with a message that says what to fix.
    """
    max_bytes = settings.LOGO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise DomainError(f"The logo is larger than {max_bytes // 1024} KB; upload a smaller image.", field=field)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DomainError(f"The logo is larger than {max_bytes // 1024} KB; upload a smaller image.", field=field)
    if not data:
        raise DomainError("The logo file is empty.", field=field)
    head = data[:512].lstrip().lower()
    if head.startswith(b"<") or b"<svg" in head:
        raise DomainError(
            "SVG and other markup files are not accepted as logos; upload a PNG, JPEG or WebP image.", field=field
        )
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            if image.width * image.height > settings.LOGO_MAX_PIXELS:
                raise DomainError("The logo has too many pixels; upload an image of at most 4096 x 4096.", field=field)
            image.seek(0)
            image.load()
            converted = image.convert("RGBA")
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(
            "The file is not a readable PNG, JPEG, WebP or GIF image; upload the logo as one of those.", field=field
        ) from None
    converted.thumbnail(LOGO_MAX_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    digest = hashlib.sha256(png).hexdigest()
    return ProcessedImage(
        content=ContentFile(png, name=f"{digest[:16]}.png"),
        width=converted.width,
        height=converted.height,
        digest=digest,
    )
