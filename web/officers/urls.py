"""Pages of this area: the officers' work queue and the dossier workspace."""

from django.urls import path

from . import views, views_desk

urlpatterns = [
    path("hang-doi/", views.queue, name="queue"),
    path("tiep-nhan/", views_desk.intake, name="intake"),
    path("tiep-nhan/<int:dossier_id>/", views_desk.intake_done, name="intake_done"),
    path("ho-so/<int:dossier_id>/tra-tai-quay/", views_desk.desk, name="desk"),
    path("ho-so/<int:dossier_id>/tra-van-ban-tu-choi/", views_desk.hand_over_refusal,
         name="hand_over_refusal"),
    path("ho-so/<int:dossier_id>/danh-gia-tai-quay/", views_desk.desk_rating,
         name="desk_rating"),
    path("ho-so/<int:dossier_id>/", views.dossier, name="dossier"),
    path("ho-so/<int:dossier_id>/thao-tac/<slug:action>/", views.move, name="move"),
    path("ho-so/<int:dossier_id>/nhan-xu-ly/", views.claim, name="claim"),
    path("ho-so/<int:dossier_id>/giao/", views.assign, name="assign"),
    path("ho-so/<int:dossier_id>/phieu-xin-loi/", views.apology_draft, name="apology_draft"),
    path("ho-so/<int:dossier_id>/phieu-xin-loi/duyet/", views.apology_approve,
         name="apology_approve"),
    path("ho-so/<int:dossier_id>/giay-tiep-nhan.pdf", views.receipt_slip, name="receipt_slip"),
    path("ho-so/<int:dossier_id>/phieu/<slug:name>.pdf", views.slip, name="slip"),
    path("ho-so/<int:dossier_id>/ket-qua.pdf", views.result_file, name="result_file"),
    path("tai-lieu/<int:document_id>/tai-ve/", views.document_download, name="document"),
    path("tai-lieu/<int:document_id>/quyet-dinh-chu-ky/", views.signature_decide,
         name="signature_decide"),
]
