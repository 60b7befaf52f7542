"""Files the portal sends: as attachments, typed by their bytes, never cached on the way.

The type comes from the content (the `filetype` sniffer), never from what a client declared
when it uploaded the file, nor from its name; what the sniffer cannot tell is sent as
`application/octet-stream` unless the caller, who made the bytes itself, knows better.
"""

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

import filetype

SNIFF_BYTES = 8192
UNKNOWN = "application/octet-stream"


def sniffed_type(head: bytes, *, fallback: str = UNKNOWN) -> str:
    kind = filetype.guess(head[:SNIFF_BYTES]) if head else None
    return kind.mime if kind is not None else fallback


def _guarded(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def file_download(field_file, *, filename: str, inline: bool = False) -> FileResponse:
    """A stored file (a FieldFile), as an attachment unless `inline`."""
    handle = field_file.open("rb")
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=not inline, filename=filename,
                            content_type=sniffed_type(head))
    return _guarded(response)


def bytes_download(content: bytes, *, filename: str, inline: bool = False,
                   fallback: str = UNKNOWN) -> HttpResponse:
    """Bytes the portal made (a slip, an export), as an attachment unless `inline`."""
    response = HttpResponse(content, content_type=sniffed_type(content, fallback=fallback))
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    return _guarded(response)
