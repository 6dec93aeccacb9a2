"""``RowSQL``: an annotation written once as SQL text, in which ``{pk}`` stands for the row's primary key.

The portal reads the user's partners on every request, with facts about each one (does the user administer
it, has it accepted the current agreement). Written as ORM subqueries, those facts are rebuilt, resolved and
compiled on every request, which costs more than running them. Their SQL never changes, so it is written
once per process from the models' table and column names, and only the row's primary key column (whatever
alias the query gives the table) and the parameters are filled in per query.
"""

from __future__ import annotations

from django.db import connection, models


class RowSQL(models.Expression):
    """``(sql)`` with ``{pk}`` replaced by the outer row's primary key column; ``params`` fill its ``%s``.

    Only table and column names may be written into ``sql`` (use ``table`` and ``column``); every value is a
    parameter.
    """

    def __init__(self, sql: str, params=(), output_field=None):
        super().__init__(output_field=output_field)
        self.sql = sql
        self.params = tuple(params)
        self.pk = models.F("pk")

    def __repr__(self):
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def get_source_expressions(self):
        return [self.pk]

    def set_source_expressions(self, exprs):
        (self.pk,) = exprs

    def as_sql(self, compiler, connection):
        pk_sql, pk_params = compiler.compile(self.pk)
        if pk_params:
            raise ValueError("The primary key column takes no parameters.")
        return "(" + self.sql.replace("{pk}", pk_sql) + ")", self.params


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)
