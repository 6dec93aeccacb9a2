"""``{% memo_include %}``: a partial whose output depends only on its arguments, rendered once per process.
``{% inline_include %}``: a partial compiled into the template that includes it, for the rows of a list.

Icons are the case in point: a list page draws the same few dozen SVGs hundreds of times, and a plain
``{% include %}`` pays for a context push, a template lookup and a chain of ``{% if name == … %}`` on every
row. ``{% memo_include "partials/icon.html" name="alert" class="icon-sm" %}`` renders the partial with those
arguments only (nothing else from the page's context reaches it) and keeps the result, keyed by the template
and the arguments. Only for partials that read nothing but their arguments; registered as a template
builtin in ``settings.TEMPLATES``. With ``DEBUG`` on, nothing is kept, so edited partials show at once.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.base import token_kwargs
from django.template.context import Context
from django.template.loader_tags import ExtendsNode

register = template.Library()

MAX_KEPT = 4096  # argument sets kept per partial: icons and kinds are a few hundred, initials a few thousand
_kept: dict[str, dict[tuple, str]] = {}  # partial -> arguments -> output


class MemoIncludeNode(template.Node):
    def __init__(self, template_name: str, kwargs: dict):
        self.template_name = template_name
        self.kwargs = kwargs

    def render(self, context) -> str:
        values = {name: value.resolve(context) for name, value in self.kwargs.items()}
        key = (context.autoescape, *sorted((k, str(v)) for k, v in values.items()))
        kept = _kept.setdefault(self.template_name, {})
        rendered = kept.get(key)
        if rendered is None:
            partial = context.template.engine.get_template(self.template_name)
            rendered = partial.render(Context(values, autoescape=context.autoescape))
            if not settings.DEBUG and len(kept) < MAX_KEPT:
                kept[key] = rendered
        return rendered


@register.tag
def memo_include(parser, token):
    """``{% memo_include "partial.html" name=value … %}`` (the template name must be a quoted literal)."""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "'\"" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a quoted template name, then name=value arguments.")
    kwargs = token_kwargs(bits[2:], parser, support_legacy=False)
    if len(kwargs) != len(bits) - 2:
        raise template.TemplateSyntaxError(f"{bits[0]} arguments must be name=value pairs.")
    return MemoIncludeNode(bits[1][1:-1], kwargs)


class InlineIncludeNode(template.Node):
    """The nodes of a partial, compiled into the including template (``{% inline_include %}``)."""

    def __init__(self, template_name: str, nodelist):
        self.template_name = template_name
        self.nodelist = nodelist

    def render(self, context) -> str:
        return self.nodelist.render(context)


@register.tag
def inline_include(parser, token):
    """``{% inline_include "partial.html" %}``: the output of ``{% include "partial.html" %}``, for a partial drawn
    on every row of a list (a ticket's SLA cell, a request's dates).

    ``{% include %}`` finds the partial and enters its render state on every row, about 20 µs each: 50 rows of
    the desk spent 3 % of the page's instructions there. The partial's nodes are compiled into the including
    template instead, once, and render in the row's own context. It takes no ``with`` or ``only``, and the
    partial may not extend a template. Django's template reloading recompiles every template when any of them
    changes, so an edited partial shows at once with ``DEBUG`` on.
    """
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "'\"" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError(f"{bits[0]} takes one quoted template name, and nothing else.")
    name = bits[1][1:-1]
    loader = getattr(parser.origin, "loader", None)
    engine = loader.engine if loader is not None else template.Engine.get_default()
    partial = engine.get_template(name)
    if partial.nodelist.get_nodes_by_type(ExtendsNode):
        raise template.TemplateSyntaxError(f"{bits[0]}: {name} extends a template; use {{% include %}} for it.")
    return InlineIncludeNode(name, partial.nodelist)
