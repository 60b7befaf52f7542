"""One dossier's transition log with its hash chain, in a file anyone can check offline with
`tools/verify_audit_export.py` (plain Python, no Django, no database)."""

from datetime import UTC

from portal import clock

from ..models import Dossier, DossierTransition
from .audit import transition_payload

EXPORT_FORMAT = "motcua-audit-export/1"
HASHING = (
    "hash = sha256(UTF-8 of json.dumps(row without 'id' and 'hash', sort_keys=True, "
    "ensure_ascii=False, separators=(',', ':'))); each row's 'prev' is the hash of the row "
    "before it ('' for the first); 'head' is the dossier's newest hash"
)


def audit_export(*, dossier: Dossier) -> dict:
    """The export of one dossier: its rows in chain order, each with the fields its hash
    covers, its id and its hash; `head` is the dossier's chain head as the database holds it."""
    rows = DossierTransition.objects.filter(dossier=dossier).order_by("id")
    return {
        "format": EXPORT_FORMAT,
        "hashing": HASHING,
        "dossier": {"id": dossier.pk, "code": dossier.code or ""},
        "exported_at": clock.now().astimezone(UTC).isoformat(),
        "head": dossier.audit_head,
        "rows": [{"id": row.pk, **transition_payload(row), "hash": row.hash} for row in rows],
    }
