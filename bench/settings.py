"""Settings of the scale benchmark: the portal's own, plus the bench-only bare endpoint.

Never used by the product: bench/scale.py points DJANGO_SETTINGS_MODULE here for its gunicorn.
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
