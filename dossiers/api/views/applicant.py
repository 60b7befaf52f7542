"""The catalog and the applicant's dossiers: drafting, documents, payment, result."""

from django.urls import reverse
from django.utils.translation import gettext as _

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.api.fields import ID_MAX
from portal.api.mixins import (
    ApplicantApi,
    AuthenticatedApi,
    PublicApi,
)
from portal.downloads import file_download

from ... import selectors, services
from ...exceptions import DossierNotFound
from ...models import Dossier, Result
from ...selectors.queues import dossier_list_page
from ..serializers import (
    DocumentSerializer,
    DossierOwnerSerializer,
    DossierSerializer,
    FormDataField,
    ProcedureSerializer,
    TransitionSerializer,
)
from ._common import _serialize, _validated

# --- catalog -------------------------------------------------------------------------


class ProcedureListApi(PublicApi):
    @extend_schema(responses=ProcedureSerializer(many=True))
    def get(self, request):
        procedures = selectors.procedure_list(
            sector=request.query_params.get("sector"), search=request.query_params.get("q")
        )
        return Response(ProcedureSerializer(procedures, many=True).data)


class ProcedureDetailApi(PublicApi):
    @extend_schema(responses=ProcedureSerializer)
    def get(self, request, procedure_id: int):
        procedure = selectors.procedure_list().filter(pk=procedure_id).first()
        if procedure is None:
            from ...exceptions import ProcedureNotFound

            raise ProcedureNotFound()
        return Response(ProcedureSerializer(procedure).data)


# --- the applicant's dossiers --------------------------------------------------------


class DossierListApi(AuthenticatedApi):
    """The dossiers the user may see (applicants their own, officers their agency's), newest
    first, one page at a time: follow `next_cursor` until it is null."""

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=Dossier.State.choices, required=False)
        procedure = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
        agency = serializers.CharField(required=False, max_length=32,
                                       help_text="code of the handling agency")
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
        due_before = serializers.DateTimeField(required=False)
        due_after = serializers.DateTimeField(required=False)
        code = serializers.CharField(required=False, max_length=64,
                                     help_text="part of the dossier code")
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200,
                                             default=50)

    class PageSerializer(serializers.Serializer):
        results = DossierSerializer(many=True)
        next_cursor = serializers.CharField(allow_null=True)

    @extend_schema(operation_id="v1_dossiers_list", parameters=[FilterSerializer],
                   responses=PageSerializer)
    def get(self, request):
        filters = _validated(self.FilterSerializer, request.query_params)
        page = dossier_list_page(user=request.user, **filters)
        return Response({
            "results": [_serialize(d, request.user) for d in page.items],
            "next_cursor": page.next_cursor,
        })


class DossierCreateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        procedure_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)
        form_data = FormDataField(required=False, default=dict)
        on_behalf_name = serializers.CharField(required=False, default="", allow_blank=True,
                                               max_length=255)

    @extend_schema(request=InputSerializer, responses={201: DossierOwnerSerializer})
    def post(self, request):
        data = _validated(self.InputSerializer, request.data)
        dossier = services.dossier_create(actor=request.user, **data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier.pk)
        return Response(_serialize(dossier, request.user), status=status.HTTP_201_CREATED)


class DossierDetailApi(AuthenticatedApi):
    @extend_schema(responses=DossierSerializer)
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.personal_data_read_record(request, dossier=dossier)
        body = _serialize(dossier, request.user)
        body["documents"] = DocumentSerializer(
            selectors.dossier_documents(dossier=dossier), many=True
        ).data
        return Response(body)


class DossierFormUpdateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        form_data = FormDataField()
        version = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    @extend_schema(request=InputSerializer, responses=DossierOwnerSerializer)
    def put(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.dossier_update_form(dossier_id=dossier.pk, actor=request.user, **data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        return Response(_serialize(dossier, request.user))


class DocumentUploadApi(AuthenticatedApi):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        component = serializers.CharField(max_length=64)
        file = serializers.FileField(allow_empty_file=True)
        digitized = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={201: DocumentSerializer})
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        document = services.document_upload(
            dossier_id=dossier.pk, actor=request.user, component_code=data["component"],
            uploaded_file=data["file"], digitized=data["digitized"],
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentListApi(AuthenticatedApi):
    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        documents = selectors.dossier_documents(dossier=dossier, all_versions=True)
        return Response(DocumentSerializer(documents, many=True).data)


# What a stored document can be: the upload admits only what its component accepts, judged
# from the content (dossiers.services.documents), and the download sends that type.
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


class DocumentDownloadApi(AuthenticatedApi):
    @extend_schema(responses={(200, media): OpenApiTypes.BINARY for media in DOCUMENT_TYPES})
    def get(self, request, document_id: int):
        document = selectors.document_get_for(user=request.user, document_id=document_id)
        services.personal_data_read_record(request, dossier=document.dossier, document=document)
        return file_download(document.file, filename=document.original_name)


class DossierTimelineApi(AuthenticatedApi):
    @extend_schema(responses=TransitionSerializer(many=True))
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        history = selectors.dossier_history(dossier=dossier)
        return Response(TransitionSerializer(history, many=True).data)


class DossierResultApi(AuthenticatedApi):
    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Result.Kind.choices)
        number = serializers.CharField(allow_blank=True)
        issued_at = serializers.DateTimeField()
        electronic = serializers.BooleanField()
        signed = serializers.BooleanField()
        sha256 = serializers.CharField(allow_blank=True)
        outcome = serializers.CharField(allow_blank=True, help_text=" | ".join(
            Dossier.Outcome.values))
        file = serializers.CharField(allow_null=True,
                                     help_text="where to download the signed result (PDF)")

    @extend_schema(responses=OutputSerializer)
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        result = selectors.dossier_result(dossier=dossier, user=request.user)
        if result is None:
            raise DossierNotFound(_("Hồ sơ chưa có kết quả."))
        return Response({
            "kind": result.kind, "number": result.number, "issued_at": result.issued_at,
            "electronic": result.electronic, "signed": result.signed, "sha256": result.sha256,
            "outcome": dossier.outcome,
            "file": reverse("api:dossiers:result_file", args=[dossier.pk]) if result.file
            else None,
        })


class PaymentStartApi(ApplicantApi):
    """Open the fee's transaction at the payment provider; the applicant goes to `redirect_url`.

    Only the provider's signed callback or our own status query marks the payment paid.
    """

    error_statuses = (502, 503)  # the payment platform refused or did not answer

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="pk")
        amount = serializers.IntegerField()
        status = serializers.CharField()
        provider = serializers.CharField()
        provider_reference = serializers.CharField()
        redirect_url = serializers.CharField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request, dossier_id: int):
        from ...services.payments import payment_start

        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        payment = payment_start(dossier_id=dossier.pk, actor=request.user)
        return Response(self.OutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class RatingCreateApi(ApplicantApi):
    class InputSerializer(serializers.Serializer):
        score = serializers.IntegerField(min_value=1, max_value=5)
        comment = serializers.CharField(required=False, default="", allow_blank=True,
                                        max_length=2000)

    class OutputSerializer(serializers.Serializer):
        score = serializers.IntegerField()
        comment = serializers.CharField(allow_blank=True)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        rating = services.rating_create(dossier_id=dossier.pk, actor=request.user, **data)
        return Response({"score": rating.score, "comment": rating.comment},
                        status=status.HTTP_201_CREATED)


class DossierResultFileApi(AuthenticatedApi):
    """The issued result as the agency signed it (PDF)."""

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        result = selectors.dossier_result(dossier=dossier, user=request.user)
        if result is None or not result.file:
            raise DossierNotFound(_("Hồ sơ chưa có kết quả điện tử."))
        services.personal_data_read_record(request, dossier=dossier, what="result")
        return file_download(result.file, filename=f"ket-qua-{dossier.code}.pdf")
