"""Rebuild the step history of existing dossiers from their transition log.

A step entered by a handover logged its due time (`details["step_due_at"]`); the step entered
at reception did not, so its due time is counted again from the step's budget with the agency's
sessions and the administrators' day overrides (seasonal hours are not applied here). Who took
a step is the officer whose move ended it, when that move was theirs to make."""

from datetime import datetime

from django.db import migrations

ENDS_AND_ENTERS = {"accept", "advance_step", "propose", "send_back"}
ENDS_ONLY = {"approve", "refuse", "issue_result", "withdraw"}


def _calendar(agency, overrides):
    from dossiers import sla

    off = [day for day, kind in overrides if kind == "day_off"]
    extra = [day for day, kind in overrides if kind == "working_day"]
    sessions = (
        sla.Session(agency.morning_start, agency.morning_end),
        sla.Session(agency.afternoon_start, agency.afternoon_end),
    )
    return sla.WorkingCalendar(sessions=sessions, extra_days_off=off, extra_working_days=extra)


def backfill(apps, schema_editor):
    from dossiers import sla

    Dossier = apps.get_model("dossiers", "Dossier")
    Transition = apps.get_model("dossiers", "DossierTransition")
    ProcessStep = apps.get_model("dossiers", "ProcessStep")
    StepRecord = apps.get_model("dossiers", "StepRecord")
    HolidayOverride = apps.get_model("dossiers", "HolidayOverride")
    overrides = list(HolidayOverride.objects.values_list("date", "kind"))
    calendars = {}

    done = set(StepRecord.objects.values_list("dossier_id", flat=True).distinct())
    received = Dossier.objects.filter(received_at__isnull=False).exclude(pk__in=done)
    for dossier in received.select_related("handling_agency", "procedure").iterator():
        agency = dossier.handling_agency
        if agency.pk not in calendars:
            calendars[agency.pk] = _calendar(agency, overrides)
        cal = calendars[agency.pk]
        steps = {s.code: s for s in ProcessStep.objects.filter(procedure=dossier.procedure)}
        open_row = None
        for row in Transition.objects.filter(dossier=dossier).order_by("id"):
            ends = row.name in ENDS_AND_ENTERS or row.name in ENDS_ONLY
            if open_row is not None and ends:
                open_row.ended_at = row.at
                role = open_row.step.role
                actor = row.actor
                if actor is not None and actor.groups.filter(name=role).exists():
                    open_row.taken_by = actor
                if open_row.due_at:
                    try:
                        open_row.outcome = sla.outcome(row.at, open_row.due_at, cal)
                    except ValueError:
                        open_row.outcome = ""
                open_row.save()
                open_row = None
            if row.name in ENDS_AND_ENTERS and row.step in steps:
                step = steps[row.step]
                details = row.details or {}
                due = None
                if details.get("step_due_at"):
                    due = datetime.fromisoformat(details["step_due_at"])
                else:
                    try:
                        due = sla.due_at(row.at, step.budget_days, cal,
                                         kind=dossier.procedure.duration_kind)
                    except ValueError:
                        due = None
                open_row = StepRecord.objects.create(
                    dossier=dossier, step=step, handed_by=row.actor, started_at=row.at,
                    due_at=due,
                )
        if open_row is not None and dossier.current_step_id == open_row.step_id \
                and dossier.step_due_at:
            # The open step's due time, moved by any pause since it began.
            open_row.due_at = dossier.step_due_at
            open_row.save(update_fields=["due_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("dossiers", "0017_step_records_supplement_requests"),
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
