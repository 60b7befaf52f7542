"""The applicant's filed dossiers: list, dossier page, papers, fee, withdrawal, rating."""

from django.urls import path

from . import views_dossier as v

urlpatterns = [
    path("ho-so-cua-toi/", v.dossier_list, name="dossiers"),
    path("ho-so-cua-toi/<int:dossier_id>/", v.dossier_detail, name="dossier"),
    path("ho-so-cua-toi/<int:dossier_id>/phieu-hen.pdf", v.receipt_slip, name="receipt_slip"),
    path("ho-so-cua-toi/<int:dossier_id>/phieu/<slug:name>.pdf", v.slip, name="slip"),
    path("ho-so-cua-toi/<int:dossier_id>/ket-qua.pdf", v.result_file, name="result_file"),
    path("ho-so-cua-toi/<int:dossier_id>/giay-to/<int:document_id>/", v.document_download,
         name="document"),
    path("ho-so-cua-toi/<int:dossier_id>/thanh-toan/", v.dossier_pay, name="pay"),
    path("ho-so-cua-toi/<int:dossier_id>/rut/", v.dossier_withdraw, name="withdraw"),
    path("ho-so-cua-toi/<int:dossier_id>/danh-gia/", v.dossier_rate, name="rate"),
    path("thanh-toan/ket-qua/<int:payment_id>/", v.payment_return, name="payment_return"),
]
