"""OpenAPI generation: nested `InputSerializer`s are named after the view that owns them."""

from drf_spectacular.authentication import BasicScheme, SessionScheme, TokenScheme
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname:  # DossierClaimApi.InputSerializer -> DossierClaimApiInput
            owner = qualname.rsplit(".", 1)[0].replace(".", "").lstrip("_")
            return f"{owner}{name}"
        return name


class VerifiedSessionScheme(SessionScheme):
    """The pages' session cookie; staff sessions count once their second factor is given."""

    target_class = "portal.api.authentication.VerifiedSessionAuthentication"


class ApiTokenScheme(TokenScheme):
    target_class = "portal.api.authentication.ApiTokenAuthentication"


class DebugBasicScheme(BasicScheme):
    target_class = "portal.api.authentication.DebugBasicAuthentication"
