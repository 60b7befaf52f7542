"""Helpers shared by the API views."""

from ...models import Dossier
from ..serializers import dossier_data


def _serialize(dossier: Dossier, user) -> dict:
    """The answer of a change: the dossier as `DossierOwnerSerializer` writes it for its
    applicant, as `DossierSerializer` does for officers."""
    return dossier_data(dossier, owner=dossier.applicant_id == user.pk)


def _validated(serializer_cls, data) -> dict:
    serializer = serializer_cls(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
