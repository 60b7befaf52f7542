"""The service-quality scores (Decision 766/QĐ-TTg) a portal publishes for an agency and a
period: the wire's group codes and the figures a simulated portal publishes."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .exceptions import BadResponse

# Our group keys and their codes on the wire (NhomChiSo[].Ma), with the group's points.
GROUPS = {
    "transparency": ("CongKhaiMinhBach", 18),
    "progress": ("TienDoGiaiQuyet", 20),
    "online": ("DichVuTrucTuyen", 12),
    "payment": ("ThanhToanTrucTuyen", 10),
    "satisfaction": ("MucDoHaiLong", 18),
    "digitization": ("SoHoaHoSo", 22),
}
_BY_CODE = {code: key for key, (code, _max) in GROUPS.items()}


@dataclass(frozen=True)
class PublishedScorecard:
    """An agency's scores as a portal published them for a period."""

    system: str
    agency_code: str  # MaCoQuan
    date_from: date  # TuNgay
    date_to: date  # DenNgay
    total: float  # TongDiem
    groups: Mapping[str, float]  # our group key -> points (NhomChiSo)


def sample_scores(agency_code: str, date_from: date, date_to: date) -> dict[str, float]:
    """Deterministic figures for a simulated portal: each group between 55 % and 100 % of its
    points, the same for the same agency and period."""
    scores = {}
    for key, (code, points) in GROUPS.items():
        digest = hashlib.sha256(f"{agency_code}|{date_from}|{date_to}|{code}".encode()).digest()
        share = Decimal("0.55") + Decimal(int.from_bytes(digest[:4], "big") % 4501) / 10000
        scores[key] = float((share * points).quantize(Decimal("0.01"), ROUND_HALF_UP))
    return scores


def scores_payload(agency_code: str, date_from: date, date_to: date,
                   scores: Mapping[str, float]) -> dict:
    """The portal's answer for the scores (GET /api/chiso/{MaCoQuan})."""
    return {
        "MaCoQuan": agency_code, "TuNgay": date_from.isoformat(), "DenNgay": date_to.isoformat(),
        "TongDiem": round(sum(scores.values()), 2),
        "NhomChiSo": [{"Ma": GROUPS[key][0], "Diem": value, "DiemToiDa": GROUPS[key][1]}
                      for key, value in scores.items()],
    }


def scorecard_from(system: str, body) -> PublishedScorecard:
    """Read the portal's answer; anything we cannot read is a BadResponse."""
    try:
        groups = {}
        for item in body["NhomChiSo"]:
            key = _BY_CODE.get(item["Ma"])
            if key is not None:
                groups[key] = float(item["Diem"])
        return PublishedScorecard(
            system=system, agency_code=str(body["MaCoQuan"]),
            date_from=date.fromisoformat(body["TuNgay"]),
            date_to=date.fromisoformat(body["DenNgay"]),
            total=float(body["TongDiem"]), groups=groups,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadResponse(extra={"field": "NhomChiSo"}) from exc
