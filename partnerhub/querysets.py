"""``KeysFirstQuerySet``: a page of a long list reads the page's keys first, then only those rows in full.

``tickets.select_related(...).order_by(...)[:51]`` over a partner with thousands of tickets makes PostgreSQL
join every matching ticket to its category, requester and assignee before it sorts and keeps 51, and plan
all those joins together with the access layer's subqueries. Read keys first, the same page is one query in
two steps: the keys of the page with the filters and the ordering alone (``ORDER BY ... LIMIT`` over one
table), then the joins and annotations for those keys only. Same rows, same order.

Only plain model querysets that join or annotate take this path when sliced; ``values()``, ``distinct()``,
aggregates, unions and single rows (``first()``, ``[0]``) are read as usual.
"""

from __future__ import annotations

from django.db import models
from django.db.models.query import ModelIterable


@models.Field.register_lookup
class Among(models.Lookup):
    """``pk__among=<subquery>``: ``pk = ANY(ARRAY(subquery))``. PostgreSQL reads the subquery once, first, and
    then fetches those rows by key; ``pk IN (subquery)`` may instead join every row the other filters allow
    before it looks at the subquery, when it misjudges how many that is (one large partner among many small
    ones)."""

    lookup_name = "among"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


def known_related(queryset: models.QuerySet, field_name: str, obj: models.Model) -> models.QuerySet:
    """``queryset`` whose rows refer to ``obj`` itself for the foreign key ``field_name`` (every row's key must be
    ``obj``'s, e.g. one partner's tickets), the way the rows of a related manager (``partner.tickets.all()``)
    do: nothing is joined or built for it, and reading it asks nothing more of the database."""
    field = queryset.model._meta.get_field(field_name)
    clone = queryset.all()
    # A new dict: clones share the one they were made from.
    clone._known_related_objects = {**queryset._known_related_objects, field: {obj.pk: obj}}
    return clone


class KeysFirstQuerySet(models.QuerySet):
    def __getitem__(self, k):
        if isinstance(k, slice) and self._reads_keys_first(k):
            keys = self.select_related(None).values("pk")[k]
            # The ordering and the filters stay: the page's rows come back in page order, and only rows the
            # filters allow (the keys came through them already; the access layer's filter is kept anyway).
            return self.filter(pk__among=keys)
        return super().__getitem__(k)

    def _reads_keys_first(self, k: slice) -> bool:
        query = self.query
        return (
            self._result_cache is None
            and k.step is None
            and k.stop is not None
            and (k.stop - (k.start or 0)) > 1
            and self._iterable_class is ModelIterable
            and not query.is_sliced
            and not query.combinator
            and not query.distinct
            and query.group_by is None
            and bool(query.select_related or query.annotations)
        )
