"""Form 05's reception row: the due time of the reception step (hand the dossier on within the
working day it arrived, or by the end of the next working day's first session after 15:00) and
whether the desk kept it."""

from datetime import datetime, timedelta

import pytest

from dossiers import services, sla
from dossiers.services import slips
from dossiers.services.slips import CONTROL_NOTE, _control_rows
from portal import clock
from tests.dossiers.factories import VALID_FORM
from tests.dossiers.test_papers import (  # noqa: F401 - fixtures
    NIGHT,
    PDF_BYTES,
    _upload,
    assert_paper,
    desk,
    received,
)

CAL = sla.WorkingCalendar()


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=sla.VN_TZ)


@pytest.mark.parametrize(("arrived", "due"), [
    (vn(2025, 3, 3, 9), vn(2025, 3, 3, 17)),            # Monday morning: that day
    (vn(2025, 3, 3, 14, 59), vn(2025, 3, 3, 17)),       # before 15:00: that day
    (vn(2025, 3, 3, 15, 1), vn(2025, 3, 4, 11, 30)),    # after 15:00: next morning
    (vn(2025, 3, 7, 16), vn(2025, 3, 10, 11, 30)),      # Friday afternoon: Monday morning
    (vn(2025, 3, 8, 10), vn(2025, 3, 10, 17)),          # Saturday: counted from Monday
    (vn(2025, 3, 3, 19), vn(2025, 3, 4, 17)),           # the evening: from the next morning
])
def test_the_reception_step_ends_as_decree_61_says(arrived, due):
    assert sla.reception_due(arrived, CAL) == due


def test_the_reception_row_prints_its_due_time_and_result(received, tmp_path):  # noqa: F811
    rows = _control_rows(received)

    reception = next(r for r in rows if r.what == "Tiếp nhận hồ sơ, chuyển xử lý")
    # Submitted at 00:30 Tuesday (Vietnam), received at 01:30: the step ends at 17:00 that day.
    assert reception.due == "17:00 01/12/2026"
    assert reception.timeliness == "Đúng hạn"
    assert rows[0].what == "Nộp hồ sơ" and rows[0].due == ""  # the applicant owes no time
    content = slips.slip_control_render(dossier=received)
    assert_paper(content, tmp_path, must_have=["17:00 01/12/2026", "Đúng hạn", CONTROL_NOTE])


def test_a_dossier_left_at_the_desk_past_the_day_is_late(desk):  # noqa: F811
    monday = vn(2025, 3, 3, 9)
    with clock.frozen_at(monday):
        dossier = services.dossier_create(actor=desk["applicant"],
                                          procedure_id=desk["procedure"].pk,
                                          form_data=dict(VALID_FORM))
        _upload(dossier, desk["applicant"], "don_de_nghi", PDF_BYTES, "don.pdf")
        services.dossier_submit(dossier_id=dossier.pk, actor=desk["applicant"])
    with clock.frozen_at(monday + timedelta(days=1, hours=5)):
        services.dossier_accept(dossier_id=dossier.pk, actor=desk["reception"])

    reception = next(r for r in _control_rows(dossier) if r.what.startswith("Tiếp nhận"))

    assert (reception.due, reception.timeliness) == ("17:00 03/03/2025", "Quá hạn")
