"""``{% url %}`` that reverses each URL pattern once per process, not once per row.

A list page writes a link per row (``{% url 'support:ticket' ticket.pk %}``), and Django reverses each one
from scratch: resolver lookup, candidate patterns, converter checks, quoting. For a link with no argument, or
with one non-negative integer (a primary key), the URL is always the same text around the number, so this
tag reverses the pattern once with a marker number, keeps the text on either side, and then only puts the
number in. Everything else (keyword arguments, several arguments, strings) goes to Django's own tag, and so
does any pattern whose converter would not print the number as it is: the shape is checked against a real
reversal before it is kept. Output, errors and ``as var`` behave exactly as Django's ``{% url %}``.

Registered as a template builtin in ``settings.TEMPLATES`` after Django's, so it replaces ``{% url %}``
everywhere without ``{% load %}``.
"""

from __future__ import annotations

import functools

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

_MARK = 987_654_321_012  # a number that no URL text contains by chance
_CHECK = 7


@functools.lru_cache(maxsize=2048)
def pattern_shape(view_name: str, current_app: str | None, prefix: str, resolver, with_pk: bool):
    """The URL of ``view_name`` (no argument), or the text before and after its integer argument; None when
    the pattern cannot be reversed that way. ``prefix`` and ``resolver`` are part of the key only: a change of
    script prefix or URLconf gives a fresh shape."""
    try:
        if not with_pk:
            return reverse(view_name, current_app=current_app)
        marked = reverse(view_name, args=[_MARK], current_app=current_app)
        checked = reverse(view_name, args=[_CHECK], current_app=current_app)
    except NoReverseMatch:
        return None
    head, found, tail = marked.partition(str(_MARK))
    if not found or f"{head}{_CHECK}{tail}" != checked:
        return None  # a converter that pads, encodes or refuses numbers: Django's tag reverses each link
    return head, tail


class ReversedOnceURLNode(defaulttags.URLNode):
    def render(self, context):
        if self.kwargs or len(self.args) > 1:
            return super().render(context)
        args = [arg.resolve(context) for arg in self.args]
        if args and not (type(args[0]) is int and args[0] >= 0):
            return super().render(context)
        view_name = self.view_name.resolve(context)
        if not isinstance(view_name, str):  # a quoted name is a SafeString
            return super().render(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        shape = pattern_shape(str(view_name), current_app, get_script_prefix(), get_resolver(get_urlconf()), bool(args))
        if shape is None:
            return super().render(context)  # the same error, or the same empty ``as var``, as Django's tag
        url = f"{shape[0]}{args[0]}{shape[1]}" if args else shape
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's ``{% url %}``, parsed by Django; see the module's docstring for how it renders."""
    node = defaulttags.url(parser, token)
    node.__class__ = ReversedOnceURLNode
    return node
