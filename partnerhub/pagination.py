"""Page lists without counting rows that are all on the first page, and without counting past a cap.

Django's ``Paginator`` runs ``SELECT COUNT(*)`` before it reads a page, even when the list is short enough to
fit on one page, which most partners' lists are (a team of ten, a handful of open invitations). This one
reads the first page with one row more than it shows: when that row is absent, the rows read are the whole
list and their number is the count. Longer lists and later pages are counted as usual.

With ``count_limit``, a long list (a search for a common word matches thousands of rows) is counted up to the
cap and no further: ``count_capped`` says the list holds more than ``count_limit`` rows, and pages are
numbered up to the cap, with a next page after the last one the cap covers. A page past the cap is counted in
full, so that its numbers and its "next" stay exact. A list that is not a queryset counts up to the cap with
its own ``count_up_to(n)`` (``support.selectors.ArticleSearch``).
"""

from __future__ import annotations

import contextlib

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property


class Paginator(DjangoPaginator):
    def __init__(self, object_list, per_page, *args, count_limit: int | None = None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_limit = count_limit
        self.count_capped = False
        self._wanted = 1

    def get_page(self, number) -> Page:
        try:
            wanted = int(number or 1)
        except (TypeError, ValueError):
            wanted = 1  # get_page answers an unreadable page number with the first page
        self._wanted = wanted
        if wanted <= 1 and "count" not in self.__dict__:
            rows = list(self.object_list[: self.per_page + 1])
            if len(rows) <= self.per_page:
                # The whole list, so also the last page (which get_page answers for numbers below 1).
                self.__dict__["count"] = len(rows)
                if rows or self.allow_empty_first_page:
                    return self._get_page(rows, 1, self)
            elif wanted == 1:
                return self._get_page(rows[: self.per_page], 1, self)  # counted only when the page asks
        return super().get_page(number)

    def page(self, number) -> Page:
        with contextlib.suppress(TypeError, ValueError):  # Django's validate_number answers those
            self._wanted = int(number)
        return super().page(number)

    @cached_property
    def count(self) -> int:
        limit = self.count_limit
        count_up_to = getattr(self.object_list, "count_up_to", None)
        if count_up_to is None and hasattr(self.object_list, "query"):
            # Only the keys, unordered, of at most one row past the cap: no ranking, no joins for the rows shown.
            def count_up_to(n):
                return self.object_list.order_by().values("pk")[:n].count()

        if limit is None or self._wanted * self.per_page > limit or count_up_to is None:
            return super().count
        counted = count_up_to(limit + 1)
        self.count_capped = counted > limit
        return counted
