"""Helpers shared by the API views."""

from ...models import Dossier
from ..serializers import DossierOwnerSerializer, DossierSerializer


def _serialize(dossier: Dossier, user) -> dict:
    cls = DossierOwnerSerializer if dossier.applicant_id == user.pk else DossierSerializer
    return cls(dossier).data


def _validated(serializer_cls, data) -> dict:
    serializer = serializer_cls(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
