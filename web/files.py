"""Files people download from the pages: stored documents and results, sent as attachments."""

from portal.downloads import file_download


def private_file(field_file, *, filename: str):
    """A stored file for the signed-in person only: an attachment typed by its bytes, never
    cached on the way, never sniffed by the browser."""
    return file_download(field_file, filename=filename)
