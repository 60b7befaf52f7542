#!/usr/bin/env python3
"""Check an exported dossier history (manage.py export_audit, or the API's audit-export) offline.

Plain Python 3 standard library only: no Django, no database, no network. Usage:

    python3 verify_audit_export.py EXPORT.json [--head HASH]

Each row's hash is the SHA-256 of its canonical JSON (every field but "id" and "hash", keys
sorted, no spaces, UTF-8); each row's "prev" is the hash of the row before it ("" for the
first); the last row's hash is the export's "head". Give --head the head hash you got
elsewhere (`manage.py verify_audit --dossier ID`, a printout, an earlier export) to also detect
a file rewritten from the first changed row on.

Exit status: 0 when intact ("OK ..."), 1 naming the first broken row, 2 when the file cannot
be read as an export.
"""

import argparse
import hashlib
import json
import sys

FORMAT = "motcua-audit-export/1"
FIELDS = ("dossier", "name", "from", "to", "actor", "actor_label", "at", "reason", "step",
          "clock", "details", "prev")


def row_digest(row: dict) -> str:
    payload = {key: value for key, value in row.items() if key not in ("id", "hash")}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify(export: dict, *, head: str | None = None) -> list[str]:
    """The problems found, the first broken row first; empty when the export is intact."""
    if export.get("format") != FORMAT:
        raise ValueError(f"not an audit export of format {FORMAT!r}")
    dossier = export.get("dossier", {}).get("id")
    rows = export.get("rows")
    if not isinstance(rows, list):
        raise ValueError("the export has no list of rows")
    previous = ""
    for position, row in enumerate(rows, start=1):
        where = f"row {position} (id {row.get('id', '?')})"
        missing = [key for key in (*FIELDS, "hash") if key not in row]
        extra = sorted(set(row) - {*FIELDS, "id", "hash"})
        if missing or extra:
            return [f"{where}: fields missing {missing} or unexpected {extra}: the row was changed"]
        if row["dossier"] != dossier:
            return [f"{where}: belongs to dossier {row['dossier']}, not {dossier}"]
        if row["prev"] != previous:
            return [f"{where}: its previous hash does not match the row before it "
                    "(a row was removed, inserted or the rows reordered)"]
        if row_digest(row) != row["hash"]:
            return [f"{where}: its content does not match its hash (the row was changed)"]
        previous = row["hash"]
    if previous != export.get("head", ""):
        return [f"head: the last row's hash {previous or '(none)'} is not the dossier's head "
                f"{export.get('head') or '(none)'} (the newest rows are missing)"]
    if head is not None and head != previous:
        return [f"head: the export ends at {previous or '(none)'}, not at the expected {head}"]
    return []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a dossier's audit export offline.")
    parser.add_argument("export", help="the JSON file written by export_audit or the API")
    parser.add_argument("--head", help="the head hash obtained independently, to compare")
    args = parser.parse_args(argv)
    try:
        with open(args.export, encoding="utf-8") as handle:
            export = json.load(handle)
        problems = verify(export, head=args.head)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        print(f"ERROR: {args.export}: {exc}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"BROKEN: {problem}")
        return 1
    dossier = export.get("dossier", {})
    print(f"OK: dossier {dossier.get('code') or dossier.get('id')}, {len(export['rows'])} rows "
          f"intact, head {export.get('head') or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
