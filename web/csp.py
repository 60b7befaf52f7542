"""Per-view widenings of the portal's Content-Security-Policy, each with its reason."""

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings

from csp.decorators import csp_update


def payment_page_origins() -> list[str]:
    """Where the payment platform takes the applicant to pay: its own origin unless
    PAYMENT_PAGE_ORIGINS names the page's host(s)."""
    origins = list(getattr(settings, "PAYMENT_PAGE_ORIGINS", []))
    url = getattr(settings, "PAYMENT_PLATFORM_URL", "")
    if url:
        parts = urlsplit(url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def payment_form_action(view):
    """The fee page's button posts to the portal, which answers with a redirect to the payment
    platform's page; browsers hold that redirect to the page's form-action, so the platform's
    origin is allowed there, on this page only."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        origins = payment_page_origins()
        if not origins:
            return view(request, *args, **kwargs)
        return csp_update({"form-action": origins})(view)(request, *args, **kwargs)

    return wrapped
