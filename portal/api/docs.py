"""The API's Swagger UI page under the portal's Content-Security-Policy.

drf-spectacular's plain view writes its start-up script and a few style rules inline; the split
view serves the script as a file of its own (`?script`), and the page below links the rules
from a static file, so the page needs no exception to the policy.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerUiView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
