"""Stored files that no row names: what an upload or an issuing left when its process died
between writing the file and committing the row (a killed web or Celery worker, a power cut).

An upload writes its file just before its transaction, an issuing inside it; both delete the
file when the transaction fails, and only a process killed in between leaves it behind. Its row never committed, so nobody can reach
the file: this sweep removes it once it is older than any transaction that could still commit
it."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from ..models import Document, Result

# The storage folders the models write to, and the models whose `file` may name a stored file
# (any of them keeps a file, wherever it lies: a row may name a file another row wrote).
OWNED_FOLDERS = ("dossiers", "results")
OWNERS = (Document, Result)
_CHUNK = 500


def _walk(storage, folder: str):
    directories, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")


def _old_enough(storage, name: str, cutoff) -> bool:
    try:
        return storage.get_modified_time(name) <= cutoff
    except FileNotFoundError:  # removed meanwhile
        return False


def stored_files_sweep(*, older_than: timedelta = timedelta(hours=1),
                       dry_run: bool = False) -> list[str]:
    """Delete the files under the owned folders that no row names and that were last written
    before `older_than` ago; the names deleted (or that would be, with `dry_run`)."""
    storage = default_storage
    cutoff = timezone.now() - older_than
    removed: list[str] = []
    for folder in OWNED_FOLDERS:
        if not storage.exists(folder):
            continue
        chunk: list[str] = []
        for name in _walk(storage, folder):
            if _old_enough(storage, name, cutoff):
                chunk.append(name)
            if len(chunk) >= _CHUNK:
                removed += _remove_unnamed(storage, chunk, dry_run)
                chunk = []
        removed += _remove_unnamed(storage, chunk, dry_run)
    return removed


def _remove_unnamed(storage, names: list[str], dry_run: bool) -> list[str]:
    if not names:
        return []
    named = {name for model in OWNERS
             for name in model.objects.filter(file__in=names).values_list("file", flat=True)}
    orphans = [name for name in names if name not in named]
    if not dry_run:
        for name in orphans:
            storage.delete(name)
    return orphans
