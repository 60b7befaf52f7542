"""The procedure catalog: loading it from a data file, idempotently."""

import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from .. import sla
from ..models import Agency, DocumentComponent, Dossier, Procedure, ProcessStep
from ..models.catalog import AgencySeason

CATALOG_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog.json"


class CatalogError(ValueError):
    pass


@transaction.atomic
def catalog_load(*, data: dict | None = None) -> list[Procedure]:
    """Create or update agencies and procedures from catalog data (the bundled file by default)."""
    if data is None:
        data = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    agencies = {}
    for item in data["agencies"]:
        (morning_start, morning_end), (afternoon_start, afternoon_end) = item["sessions"]
        agency, _ = Agency.objects.update_or_create(
            code=item["code"],
            defaults={
                "name": item["name"], "morning_start": morning_start, "morning_end": morning_end,
                "afternoon_start": afternoon_start, "afternoon_end": afternoon_end,
                "dossier_code_pattern": item.get("dossier_code_pattern", "{agency}-{yymmdd}-{seq:04}"),
            },
        )
        agency.full_clean()
        if "seasons" in item:
            _sync_seasons(agency, item["seasons"])
        agencies[agency.code] = agency
    procedures = []
    for item in data["procedures"]:
        procedures.append(_load_procedure(item, agencies))
    return procedures


def _sync_seasons(agency: Agency, seasons) -> None:
    """Make the agency's seasonal hours those of the file, matched by name."""
    if not isinstance(seasons, list):
        raise CatalogError(f"{agency.code}: seasons must be a list")
    names = []
    for item in seasons:
        try:
            name = item["name"]
            (morning_start, morning_end), (afternoon_start, afternoon_end) = item["sessions"]
            fields = {
                "start_day": item["start_day"], "start_month": item["start_month"],
                "end_day": item["end_day"], "end_month": item["end_month"],
                "morning_start": morning_start, "morning_end": morning_end,
                "afternoon_start": afternoon_start, "afternoon_end": afternoon_end,
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"{agency.code}: malformed season {item!r}") from exc
        if not isinstance(name, str) or name in names:
            raise CatalogError(f"{agency.code}: season names must be distinct text: {name!r}")
        season = agency.seasons.filter(name=name).first() or AgencySeason(agency=agency, name=name)
        for field, value in fields.items():
            setattr(season, field, value)
        season.full_clean()
        season.save()
        names.append(name)
    agency.seasons.exclude(name__in=names).delete()
    clash = sla.overlapping_seasons(row.as_season() for row in agency.seasons.all())
    if clash:
        raise CatalogError(
            f"{agency.code}: seasons {clash[0].name!r} and {clash[1].name!r} overlap"
        )


def _load_procedure(item: dict, agencies: dict) -> Procedure:
    days = Decimal(str(item["processing_days"]))
    budget = sum((Decimal(str(s["budget_days"])) for s in item["steps"]), Decimal(0))
    if budget != days:
        raise CatalogError(f"{item['name']}: step budgets sum to {budget}, not {days}")
    fields = {
        "name": item["name"], "name_en": item.get("name_en", ""), "sector": item["sector"],
        "agency": agencies[item["agency"]], "online_level": item["online_level"],
        "processing_days": days, "duration_kind": item.get("duration_kind", "working_days"),
        "fee_vnd": item.get("fee_vnd") or 0, "fee_due": item["fee_due"],
        "supplement_clock": item.get("supplement_clock", "pause"),
        "form_schema": item.get("form_schema") or {}, "legal_basis": item.get("legal_basis", []),
        "source": item.get("source", ""), "notes": item.get("notes") or "",
        "demo_assumptions": item.get("demo_assumptions", []),
    }
    lookup = (
        {"national_code": item["national_code"]} if item.get("national_code")
        else {"national_code": "", "name": item["name"]}
    )
    procedure, _ = Procedure.objects.update_or_create(**lookup, defaults=fields)
    procedure.full_clean()
    _sync_steps(procedure, item["steps"])
    seen = []
    for i, c in enumerate(item["components"], start=1):
        DocumentComponent.objects.update_or_create(
            procedure=procedure, code=c["code"],
            defaults={
                "order": i, "name": c["name"], "mandatory": c.get("mandatory", True),
                "must_be_signed": c.get("must_be_signed", False),
                "accepted_types": c.get("accepted_types") or ["application/pdf"],
            },
        )
        seen.append(c["code"])
    procedure.components.exclude(code__in=seen).filter(documents__isnull=True).delete()
    return procedure


def _sync_steps(procedure: Procedure, steps: list[dict]) -> None:
    """Update steps in place by code: dossiers on a step keep pointing at it."""
    existing = {step.code: step for step in procedure.steps.all()}
    wanted = [s["code"] for s in steps]
    if len(set(wanted)) != len(wanted):
        raise CatalogError(f"{procedure.name}: step codes repeat")
    stale = [step for code, step in existing.items() if code not in wanted]
    # Move every order out of the way first, so the per-procedure unique order holds.
    offset = 1000
    for i, step in enumerate(existing.values(), start=1):
        step.order = offset + i
    ProcessStep.objects.bulk_update(existing.values(), ["order"])
    for order, data in enumerate(steps, start=1):
        ProcessStep.objects.update_or_create(
            procedure=procedure, code=data["code"],
            defaults={"order": order, "name": data["name"], "role": data["role"],
                      "budget_days": Decimal(str(data["budget_days"]))},
        )
    for step in stale:
        if Dossier.objects.filter(current_step=step).exists():
            raise CatalogError(
                f"{procedure.name}: step {step.code} is dropped but dossiers are on it"
            )
        step.delete()
