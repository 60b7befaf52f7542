"""The language of a request: Vietnamese unless the person chose English.

Pages follow only the visitor's own choice (the language switch's cookie), never the browser's
Accept-Language: a Vietnamese portal opens in Vietnamese on an English-language browser too.
API clients may still ask for a language with Accept-Language.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class PortalLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path_info.startswith("/api/"):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = translation.get_supported_language_variant(chosen) if chosen else None
        except LookupError:
            language = None
        translation.activate(language or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        return None
