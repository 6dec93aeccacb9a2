from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """Cursor pagination on a unique, unchanging key: constant-time pages and no skipped or repeated rows
    while data changes underneath. ``?page_size=`` asks for up to 200 rows."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
