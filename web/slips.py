"""The slips of Circular 01/2018 a dossier page links to, and the PDF response both areas
send (the same PDFs as the API's)."""

from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier
from dossiers.services import slips
from portal.downloads import bytes_download

SLIP_LABELS = {
    "receipt": _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả (mẫu 01)"),
    "completion": _("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (mẫu 02)"),
    "refusal": _("Phiếu từ chối tiếp nhận giải quyết hồ sơ (mẫu 03)"),
    "apology": _("Phiếu xin lỗi và hẹn lại ngày trả kết quả (mẫu 04)"),
    "control": _("Phiếu kiểm soát quá trình giải quyết hồ sơ (mẫu 05)"),
}


@dataclass(frozen=True)
class SlipLink:
    name: str
    label: str


def slip_links(dossier: Dossier, *, officer: bool, skip: tuple[str, ...] = ()) -> list[SlipLink]:
    return [SlipLink(name, SLIP_LABELS[name])
            for name in slips.slips_available(dossier=dossier, officer=officer)
            if name not in skip]


def slip_response(dossier: Dossier, name: str, *, officer: bool, inline: bool) -> HttpResponse:
    """The PDF; raises the service's error when the slip does not apply."""
    content = slips.slip_render(dossier=dossier, name=name, officer=officer)
    return bytes_download(content, filename=f"{slips.SLIP_FILES[name]}-{dossier.code}.pdf",
                          inline=inline)
