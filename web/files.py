"""Files people download from the pages: stored documents and results, sent as attachments."""

from django.http import FileResponse


def private_file(field_file, *, filename: str, content_type: str) -> FileResponse:
    """A stored file for the signed-in person only: never cached on the way, never sniffed."""
    response = FileResponse(field_file.open("rb"), as_attachment=True, filename=filename,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
