"""Where a large upload waits while its request is read: a temporary file without a name.

Django's own handler spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE to a named file in the
temporary directory and deletes it when the request ends; a worker killed in the middle of
the request (a timeout, the OOM killer, a deploy) leaves that file behind for good. This one
spools to a file that has no name on disk (O_TMPFILE on Linux, unlinked at once elsewhere), so
the kernel frees it with the process, however the process ends. Nothing here needs the
temporary file's path: the services read the upload's bytes."""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class UnnamedTemporaryFileUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        # Open for the request: Django closes the uploaded file when the request ends.
        spool = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
        self.file = UploadedFile(spool, self.file_name, self.content_type, 0, self.charset,
                                 self.content_type_extra)

    def receive_data_chunk(self, raw_data, start):
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.file.close()
