"""``{% console_result_list cl %}``: the console's change-list rows, with the per-column work done once per page.

Django admin's ``items_for_result`` works out, for every cell of every row, what the column is (a model field,
a method of the admin, a callable), its CSS class and its empty-value text, and for every row reverses the
change URL and merges the list's filters into it by resolving that URL again. On a page of 50 partners and 9
columns that is most of the page's CPU. Here the columns are worked out once per page and the change URL's
shape and the filters' query string once per page; each cell then does only what depends on its row: read
the value and format it exactly as the admin does (the same ``display_for_field`` and ``display_for_value``).
The output is the admin's, cell for cell (a test compares every console list with ``results(cl)``).

Lists with editable columns (``list_editable``) and popups go to the admin's own ``results``.
Used by ``templates/admin/change_list.html``.
"""

from __future__ import annotations

import datetime

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from partnerhub.templatetags.urls import pattern_shape

register = template.Library()


class _Column:
    __slots__ = ("attr", "css", "field", "kind", "link", "name", "tag")


def _columns(cl) -> list[_Column]:
    """What ``items_for_result`` works out per cell, worked out once per column."""
    model_admin, opts = cl.model_admin, cl.model._meta
    columns, first = [], True
    for index, name in enumerate(cl.list_display):
        column = _Column()
        column.name = name
        column.css = "field-" + str(admin_list._coerce_field_name(name, index))
        if cl.list_display_links is None:
            column.link = False
        elif first and not cl.list_display_links:
            column.link = True
        else:
            column.link = name in cl.list_display_links
        column.tag = None
        if column.link:
            column.tag = "th" if first else "td"
            first = False
        column.field = column.attr = None
        try:
            column.field = _get_non_gfk_field(opts, name)
            column.kind = "field"
        except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
            if callable(name):
                column.kind, column.attr = "call", name
            elif hasattr(model_admin, name) and name != "__str__":
                column.kind, column.attr = "call", getattr(model_admin, name)
            else:
                column.kind = "lookup"  # a property or related path: the admin's own lookup, per row
        columns.append(column)
    return columns


class _RowLink:
    """The change URL of a row, with the list's filters: reversed and merged once per page."""

    def __init__(self, cl):
        self.cl = cl
        self.context = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}
        name = f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change"
        self.shape = pattern_shape(
            name, cl.model_admin.admin_site.name, get_script_prefix(), get_resolver(get_urlconf()), True
        )
        self.suffix = None

    def __call__(self, result) -> str | None:
        pk = getattr(result, self.cl.pk_attname)
        if self.shape is not None and type(pk) is int and pk >= 0:
            url = f"{self.shape[0]}{pk}{self.shape[1]}"
        else:
            try:
                url = self.cl.url_for_result(result)
            except NoReverseMatch:
                return None
            return add_preserved_filters(self.context, url)
        if self.suffix is None:
            merged = add_preserved_filters(self.context, url)
            if not merged.startswith(url) or "?" in url or "#" in url:
                return merged
            self.suffix = merged[len(url) :]  # the same filters for every row of the list
        return url + self.suffix


def _cells(cl, result, columns, empty, row_link):
    """``admin_list.items_for_result`` for a list without editable columns, outside a popup."""
    for column in columns:
        empty_value_display = empty
        row_classes = [column.css]
        try:
            if column.kind == "field":
                f, attr, value = column.field, None, getattr(result, column.name)
            elif column.kind == "call":
                f, attr, value = None, column.attr, column.attr(result)
            else:
                f, attr, value = lookup_field(column.name, result, cl.model_admin)
        except ObjectDoesNotExist:
            result_repr = empty_value_display
        else:
            empty_value_display = getattr(attr, "empty_value_display", empty_value_display)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if f is None or f.auto_created:
                if column.name == "action_checkbox":
                    row_classes = ["action-checkbox"]
                boolean = getattr(attr, "boolean", False)
                if isinstance(attr, property) and hasattr(attr, "fget"):
                    boolean = getattr(attr.fget, "boolean", False)
                result_repr = display_for_value(value, empty_value_display, boolean)
                if isinstance(value, (datetime.date, datetime.time)):
                    row_classes.append("nowrap")
            else:
                if isinstance(f.remote_field, models.ManyToOneRel):
                    field_val = getattr(result, f.name)
                    result_repr = empty_value_display if field_val is None else field_val
                else:
                    result_repr = display_for_field(value, f, empty_value_display, avoid_link=column.link)
                if isinstance(f, (models.DateField, models.TimeField, models.ForeignKey)):
                    row_classes.append("nowrap")
        row_class = mark_safe(' class="' + " ".join(row_classes) + '"')  # noqa: S308 (class names, as the admin)
        if column.link:
            url = row_link(result)
            link_or_text = result_repr if url is None else format_html('<a href="{}"{}>{}</a>', url, "", result_repr)
            yield format_html("<{}{}>{}</{}>", column.tag, row_class, link_or_text, column.tag)
        else:
            yield format_html("<td{}>{}</td>", row_class, result_repr)


def results(cl):
    """``admin_list.results``, row for row."""
    if cl.formset or cl.is_popup:
        yield from admin_list.results(cl)
        return
    columns, empty, row_link = _columns(cl), cl.model_admin.get_empty_value_display(), _RowLink(cl)
    for result in cl.result_list:
        yield admin_list.ResultList(None, _cells(cl, result, columns, empty, row_link))


def result_list(cl):
    """``admin_list.result_list`` with these rows."""
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(admin_list.result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": list(results(cl)),
    }


@register.tag(name="console_result_list")
def console_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=result_list, template_name="change_list_results.html", takes_context=False
    )
