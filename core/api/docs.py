"""The schema and its two readers, all from this server: Swagger UI and Redoc come from drf-spectacular-sidecar
(a pip package, installed at set-up; nothing on a CDN, no web fonts). Our templates (templates/drf_spectacular/)
replace the library's, which load Google Fonts and inline scripts. Redoc builds its styles at run time (inline
<style> elements) and its search in a blob: worker, so its page alone allows those two in its CSP."""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView


class SchemaView(SpectacularAPIView):
    """GET /api/v1/schema/ (YAML; `?format=json` for JSON). Needs a login or a token, like every endpoint."""


class SwaggerView(SpectacularSwaggerSplitView):
    url_name = "api-schema"


@method_decorator(csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}), name="dispatch")
class RedocView(SpectacularRedocView):
    url_name = "api-schema"
