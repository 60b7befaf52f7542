"""The officer's dossier page offers the move after an unanswered supplement to the role the
procedure names, once the deadline has passed, and nowhere else."""

from datetime import timedelta

from django.urls import reverse

import pytest

from dossiers.models import Dossier, DossierTransition
from tests.dossiers.test_supplement_expiry import DEADLINE, REFUSE, RETURN, _asked, waiting  # noqa: F401

RETURN_LABEL = "Trả lại hồ sơ do quá hạn bổ sung"
REFUSE_LABEL = "Từ chối giải quyết do quá hạn bổ sung"


def page(client, user, dossier) -> str:
    client.force_login(user)
    answer = client.get(reverse("web:officers:dossier", args=[dossier.pk]))
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.fixture
def fresh_signer():
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


def test_reception_sees_the_return_only_after_the_deadline_and_it_works(
        waiting, specialist, reception, leader, client, time_machine):  # noqa: F811
    dossier = _asked(waiting(RETURN), specialist)
    time_machine.move_to(DEADLINE - timedelta(minutes=5), tick=False)
    assert RETURN_LABEL not in page(client, reception, dossier)

    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)
    assert RETURN_LABEL in page(client, reception, dossier)
    for other in (leader, specialist):
        shown = page(client, other, dossier)
        assert RETURN_LABEL not in shown and REFUSE_LABEL not in shown

    client.force_login(reception)
    done = client.post(reverse("web:officers:move", args=[dossier.pk, "return-unanswered"]),
                       {"version": dossier.version, "reason": ""})

    assert done.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.RETURNED_UNANSWERED
    history = page(client, reception, dossier)
    assert "Trả lại do không bổ sung" in history  # the state badge
    assert "Ngày trả lại hồ sơ" in history and "Ngày trả kết quả" not in history
    row = DossierTransition.objects.filter(dossier=dossier).latest("id")
    assert row.reason and row.reason in history


def test_the_leader_sees_the_refusal_when_the_procedure_names_it(
        waiting, specialist, reception, leader, client, time_machine, fresh_signer):  # noqa: F811
    dossier = _asked(waiting(REFUSE), specialist)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)

    assert REFUSE_LABEL in page(client, leader, dossier)
    assert RETURN_LABEL not in page(client, reception, dossier)

    client.force_login(leader)
    done = client.post(reverse("web:officers:move", args=[dossier.pk, "refuse-unanswered"]),
                       {"version": dossier.version, "reason": "Không bổ sung bản vẽ."})
    assert done.status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.REFUSED


def test_a_move_the_procedure_does_not_name_is_refused_on_the_page(
        waiting, specialist, reception, client, time_machine):  # noqa: F811
    dossier = _asked(waiting(REFUSE), specialist)
    time_machine.move_to(DEADLINE + timedelta(hours=1), tick=False)
    client.force_login(reception)

    answer = client.post(reverse("web:officers:move", args=[dossier.pk, "return-unanswered"]),
                         {"version": dossier.version})

    # Reception holds the return, but this procedure says the leader refuses: 409, said so.
    assert answer.status_code == 409
    assert "Thủ tục quy định cách xử lý khác khi quá hạn bổ sung hồ sơ." in answer.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).state == Dossier.State.AWAITING_SUPPLEMENT
