"""Outgoing e-mail. Messages are rendered in the request and handed to a Celery task after commit."""

from __future__ import annotations

from django.db import transaction
from django.template import Context, engines
from django.template.loader import render_to_string


def render_email(template: str, context: dict) -> tuple[str, str]:
    """Render ``<template>.txt`` and ``<template>.html`` into (text, html).

    The plain-text part is rendered without HTML escaping (it is not HTML: "&" must stay "&"); the HTML part
    is escaped as usual, so a company name like ``<b>Acme</b>`` never becomes markup in a mail client.
    """
    text_template = engines["django"].get_template(f"{template}.txt").template
    text = text_template.render(Context(context, autoescape=False))
    html = render_to_string(f"{template}.html", context)
    return text, html


def send_email(*, to: list[str], subject: str, template: str, context: dict) -> None:
    """Queue an e-mail to leave once the current transaction commits (never for a rolled-back change)."""
    from partnerhub.tasks import send_email_task

    text, html = render_email(template, context)
    subject = " ".join(subject.split())[:200]
    transaction.on_commit(lambda: send_email_task.delay(to=to, subject=subject, text=text, html=html))
