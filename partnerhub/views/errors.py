"""Error pages: JSON under /api/, branded HTML elsewhere. Never a stack trace, never a hint of other partners."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def _error(request, status: int, code: str, detail: str, template: str):
    if _wants_json(request):
        return JsonResponse(
            {
                "type": "client_error" if status < 500 else "server_error",
                "errors": [{"code": code, "detail": detail, "attr": None}],
            },
            status=status,
        )
    return render(request, template, {"status": status, "detail": detail}, status=status)


def csrf_failure(request, reason: str = ""):
    return _error(
        request,
        403,
        "csrf_failed",
        "Your session's security check failed. Reload the page and submit the form again.",
        "errors/403_csrf.html",
    )


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "The request could not be understood.", "errors/400.html")


def permission_denied(request, exception=None):
    return _error(request, 403, "permission_denied", "You do not have permission to do this.", "errors/403.html")


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "Not found.", "errors/404.html")


def server_error(request):
    """Rendered without context processors: whatever broke the request must not break its error page."""
    detail = "Something went wrong on our side. Please try again."
    if _wants_json(request):
        return _error(request, 500, "error", detail, "errors/500.html")
    html = loader.get_template("errors/500.html").render({"status": 500, "detail": detail})
    return HttpResponseServerError(html)
