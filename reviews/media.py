"""Checking and cleaning photos and videos before they are stored (R12, R18; issue: media).

Photos are decoded with Pillow and re-encoded from their pixels, so EXIF data (GPS position,
camera serial numbers) and anything hidden in the file never reach storage. Videos are checked by
their leading bytes (MP4 ``ftyp`` box or WebM/Matroska EBML header) and size; they are stored as
uploaded, because re-encoding video needs a transcoder the platform does not ship.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTOS = 5
MAX_VIDEOS = 1
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_VIDEO_BYTES = 50 * 1024 * 1024
MAX_PHOTO_EDGE = 2048  # longer edge after re-encoding, in pixels
MAX_PHOTO_PIXELS = 40_000_000  # refuse decompression bombs before decoding
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}


class MediaError(ValueError):
    """An upload that cannot be accepted, with a message for the evaluator."""


@dataclass(frozen=True)
class CleanMedia:
    kind: str  # "photo" or "video"
    content: ContentFile
    content_type: str
    width: int | None = None
    height: int | None = None


def clean_photo(upload) -> CleanMedia:
    if upload.size > MAX_PHOTO_BYTES:
        raise MediaError(_("A photo may be at most 10 MB."))
    try:
        with Image.open(upload) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise MediaError(_("Photos must be JPEG, PNG or WebP images."))
            if probe.width * probe.height > MAX_PHOTO_PIXELS:
                raise MediaError(_("This photo has too many pixels."))
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image)
            return _reencode(image)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise MediaError(_("This file is not a photo we can read.")) from exc


def _reencode(image: Image.Image) -> CleanMedia:
    image.thumbnail((MAX_PHOTO_EDGE, MAX_PHOTO_EDGE))
    has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    clean = Image.new("RGBA" if has_alpha else "RGB", image.size)
    clean.paste(image.convert(clean.mode))  # pixels only: no EXIF, ICC or text chunks
    buffer = io.BytesIO()
    if has_alpha:
        clean.save(buffer, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        clean.save(buffer, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    return CleanMedia("photo", ContentFile(buffer.getvalue()), content_type, *clean.size)


def clean_video(upload) -> CleanMedia:
    if upload.size > MAX_VIDEO_BYTES:
        raise MediaError(_("A video may be at most 50 MB."))
    head = upload.read(16)
    upload.seek(0)
    if head[4:8] == b"ftyp":
        content_type = "video/mp4"
    elif head[:4] == b"\x1a\x45\xdf\xa3":
        content_type = "video/webm"
    else:
        raise MediaError(_("Videos must be MP4 or WebM files."))
    return CleanMedia("video", ContentFile(upload.read()), content_type)


def clean_uploads(photos, videos) -> list[CleanMedia]:
    if len(photos) > MAX_PHOTOS:
        raise MediaError(_("Attach at most 5 photos."))
    if len(videos) > MAX_VIDEOS:
        raise MediaError(_("Attach at most one video."))
    return [clean_photo(p) for p in photos] + [clean_video(v) for v in videos]
