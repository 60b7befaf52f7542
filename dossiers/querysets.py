"""Named filters for dossiers; reads only, no writes with side effects."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models

from portal import clock


class DossierQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=self.model.OPEN_STATES)

    def in_progress(self):
        return self.filter(state__in=self.model.IN_PROGRESS_STATES)

    def overdue(self, *, now: datetime | None = None):
        """Received, not completed, and past `due_at`; a paused clock is not overdue."""
        now = now or clock.now()
        return self.in_progress().filter(paused_at__isnull=True, due_at__lt=now)

    def due_soon(self, *, now: datetime | None = None):
        """Less than one working session left before `due_at`."""
        now = now or clock.now()
        return self.in_progress().filter(
            paused_at__isnull=True, due_soon_at__lte=now, due_at__gte=now
        )

    def assigned_to(self, user):
        return self.filter(assignee=user)

    def for_agency(self, agency_code: str):
        return self.filter(handling_agency__code=agency_code)


class DossierTransitionQuerySet(models.QuerySet):
    """The log is append-only: bulk edits and deletes are refused as well as row saves."""

    def update(self, **kwargs):
        raise ValidationError("Nhật ký xử lý chỉ được ghi thêm, không được sửa.")

    def delete(self):
        raise ValidationError("Nhật ký xử lý không được xóa.")
