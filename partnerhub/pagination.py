"""Page lists without counting rows that are all on the first page.

Django's ``Paginator`` runs ``SELECT COUNT(*)`` before it reads a page, even when the list is short enough to
fit on one page, which most partners' lists are (a team of ten, a handful of open invitations). This one
reads the first page with one row more than it shows: when that row is absent, the rows read are the whole
list and their number is the count. Longer lists and later pages are counted as usual.
"""

from __future__ import annotations

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator


class Paginator(DjangoPaginator):
    def get_page(self, number) -> Page:
        try:
            wanted = int(number or 1)
        except (TypeError, ValueError):
            wanted = 1  # get_page answers an unreadable page number with the first page
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
