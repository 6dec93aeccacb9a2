"""Domain errors raised by services and mapped to clean 4xx answers in one place (API and portal alike)."""


class DomainError(Exception):
    """A business rule refused the request. ``field`` names the input to fix, when there is one."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ConflictError(DomainError):
    """The request is valid but clashes with the current state (HTTP 409)."""

    status_code = 409
    code = "conflict"


class ActionNotAllowed(DomainError):
    """The caller may see the object but not do this to it (HTTP 403)."""

    status_code = 403
    code = "permission_denied"
