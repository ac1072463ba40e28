"""Images uploaded by staff: checked, resized and re-encoded with Pillow before they are stored.

Re-encoding drops whatever rode along in the original (metadata, trailing bytes, polyglots);
only raster formats are accepted, so an SVG (which can carry script) never reaches the site."""

from __future__ import annotations

import io
import warnings

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2000
MAX_PIXELS = 40_000_000  # a "decompression bomb" (tiny file, huge image) stops here
FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the staff member."""


def prepare_image(upload) -> tuple[ContentFile, str, tuple[int, int]]:
    """(re-encoded file, extension, size) for an uploaded file, or ImageRejected."""
    size = getattr(upload, "size", None) or 0
    if size > MAX_UPLOAD_BYTES:
        raise ImageRejected(
            _("This file is too large (%(size)s MB). The limit is %(limit)s MB.")
            % {"size": size // (1024 * 1024), "limit": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    head = upload.read(512)
    upload.seek(0)
    if b"<svg" in head.lower() or b"<?xml" in head.lower():
        raise ImageRejected(_("SVG files are not accepted: upload a PNG, JPEG, GIF or WebP image."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in FORMATS:
                raise ImageRejected(_("Upload a PNG, JPEG, GIF or WebP image."))
            if image.width * image.height > MAX_PIXELS:
                raise ImageRejected(_("This image has too many pixels."))
            image.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise ImageRejected(_("This file is not an image we can read.")) from exc
    fmt = image.format
    if fmt == "GIF" or fmt == "PNG":
        image = image.convert("RGBA") if image.mode in ("P", "LA", "RGBA") else image.convert("RGB")
        fmt = "PNG"
    else:
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        fmt = "JPEG"
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return ContentFile(out.getvalue()), FORMATS[fmt], image.size
