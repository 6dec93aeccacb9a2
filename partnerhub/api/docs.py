"""Interactive API docs (Swagger UI) that work offline and under the site's Content Security Policy.

* Swagger UI's files come from drf-spectacular-sidecar and are served as our own static files, so the page
  loads with no internet access and ``script-src 'self'`` admits them.
* The stock Swagger view renders its start-up script inline, which ``script-src 'self' 'nonce-…'`` blocks
  (the page stays blank). The split view serves that script as a same-origin file (``?script``) instead.
* The page's few lines of inline CSS carry the request's CSP nonce rather than loosening ``style-src``.
"""

from functools import cache

from django.http import HttpResponse
from django.template import engines
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

_PAGE = """{% extends "drf_spectacular/swagger_ui.html" %}
{% block head %}
<title>{{ title|default:"Swagger" }}</title>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if favicon_href %}<link rel="icon" href="{{ favicon_href }}">{% endif %}
<link rel="stylesheet" href="{{ swagger_ui_css }}">
<style nonce="{{ request.csp_nonce }}">
  html { box-sizing: border-box; overflow-y: scroll; }
  *, *:after, *:before { box-sizing: inherit; }
  body { background: #fafafa; margin: 0; }
</style>
{% endblock head %}
"""


@cache
def _page_template():
    return engines["django"].from_string(_PAGE)


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI for the API schema, without inline script and with a nonce'd style block."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if request.GET.get("script") is not None:
            return response  # the start-up script, served as application/javascript
        html = _page_template().render(response.data, request)
        return HttpResponse(html, content_type="text/html; charset=utf-8")
