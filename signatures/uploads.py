"""Uploads to the public verifier, bounded before their bodies are read: the API and the page
share the size limit and the throttle."""

from django.conf import settings

from .exceptions import UploadTooLarge

# Room for the multipart framing around the file and the optional detached signature.
MULTIPART_OVERHEAD = 64 * 1024


def body_limit() -> int:
    """The largest request body worth reading: the file and a detached signature, each at
    most the upload limit."""
    return 2 * settings.UPLOAD_MAX_FILE_BYTES + MULTIPART_OVERHEAD


def check_body_size(request) -> None:
    """Refuse (413) a body over the limit from its declared length, before any of it is
    read. Django reads no more than CONTENT_LENGTH, so the declaration bounds the read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0  # Django reads an unreadable length as an empty body
    if declared > body_limit():
        raise UploadTooLarge(extra={"max_bytes": settings.UPLOAD_MAX_FILE_BYTES})


def read_upload(uploaded, *, field: str) -> bytes:
    """The bytes of one uploaded file, refused (413) over the upload limit."""
    limit = settings.UPLOAD_MAX_FILE_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise UploadTooLarge(extra={"field": field, "max_bytes": limit})
    content = uploaded.read(limit + 1)
    if len(content) > limit:
        raise UploadTooLarge(extra={"field": field, "max_bytes": limit})
    return content
