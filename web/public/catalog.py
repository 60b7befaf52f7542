"""Searching the public catalog: the active procedures filtered in Python, accents ignored.

The catalog holds tens of procedures, so folding every name on each search costs less than a
normalised column would, and keeps "giay phep" finding "Giấy phép" on SQLite and PostgreSQL
alike.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from dossiers.selectors import procedure_list


def fold(text: str) -> str:
    """Lower case without diacritics: "Giấy phép Đ" -> "giay phep d"; spaces squeezed."""
    decomposed = unicodedata.normalize("NFD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").casefold().split())


@dataclass(frozen=True)
class Catalog:
    procedures: list = field(default_factory=list)  # those the query found
    total: int = 0  # active procedures in the catalog
    sectors: list[str] = field(default_factory=list)
    agencies: list[tuple[str, str]] = field(default_factory=list)  # (code, name)


def _rank(procedure, text: str, words: list[str]) -> int | None:
    """How well a procedure answers the words: None when one of them starts no word of its
    names or code; 0 when the words come as typed, in a row; 1 when each is a whole word;
    2 when some only start one ("giay ph" while typing)."""
    haystack = fold(" ".join((procedure.name, procedure.name_en, procedure.national_code)))
    if not all(re.search(rf"(?<![a-z0-9]){re.escape(w)}", haystack) for w in words):
        return None
    if re.search(rf"(?<![a-z0-9]){re.escape(text)}(?![a-z0-9])", haystack):
        return 0
    if all(re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", haystack) for w in words):
        return 1
    return 2


def catalog_search(*, text: str = "", sector: str = "", agency: str = "") -> Catalog:
    """Active procedures where every word of `text` starts a word of the name (Vietnamese or
    English) or of the national code, accents and case ignored, best matches first; of one
    sector and one agency (by code) when these are given. Also the sectors and agencies of the
    whole catalog, for the filters."""
    everything = list(procedure_list())
    text = fold(text)
    words = text.split()
    ranked = []
    for p in everything:
        if (sector and p.sector != sector) or (agency and p.agency.code != agency):
            continue
        rank = _rank(p, text, words) if words else 0
        if rank is not None:
            ranked.append((rank, p))
    found = [p for _, p in sorted(ranked, key=lambda pair: pair[0])]  # stable: catalog order
    return Catalog(
        procedures=found, total=len(everything),
        sectors=sorted({p.sector for p in everything}, key=fold),
        agencies=sorted({(p.agency.code, p.agency.name) for p in everything},
                        key=lambda pair: fold(pair[1])),
    )
