"""Filing a dossier: start, form, documents (with supply and resubmit), review and submit."""

from django.urls import path

from . import views_filing as v

urlpatterns = [
    path("nop-ho-so/<int:procedure_id>/", v.file_start, name="file_start"),
    path("ho-so-cua-toi/<int:dossier_id>/soan/", v.file_form, name="file_form"),
    path("ho-so-cua-toi/<int:dossier_id>/tai-lieu/", v.file_documents, name="file_documents"),
    path("ho-so-cua-toi/<int:dossier_id>/tai-lieu/thanh-phan/<slug:component_code>/",
         v.file_document_row, name="file_document_row"),
    path("ho-so-cua-toi/<int:dossier_id>/tai-lieu/<int:document_id>/ky-so-demo/",
         v.file_demo_sign, name="file_demo_sign"),
    path("ho-so-cua-toi/<int:dossier_id>/tai-lieu/gui-bo-sung/", v.file_supply,
         name="file_supply"),
    path("ho-so-cua-toi/<int:dossier_id>/tai-lieu/nop-lai/", v.file_resubmit,
         name="file_resubmit"),
    path("ho-so-cua-toi/<int:dossier_id>/nop/", v.file_review, name="file_review"),
]
