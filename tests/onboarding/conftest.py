"""Fixtures for onboarding: an application, a reviewer, a webhook receiver that is a real local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from onboarding import services
from onboarding.models import ChecklistTemplate, ChecklistTemplateItem, WebhookEndpoint
from partnerhub.choices import StaffRole
from tests.factories import make_staff

APPLICATION = {
    "company_name": "Northwind Traders",
    "website": "https://www.northwind.example",
    "country": "de",
    "region": "EMEA",
    "partner_type": "reseller",
    "contact_first_name": "Nora",
    "contact_last_name": "Winter",
    "contact_email": "Nora.Winter@northwind.example",
    "contact_phone": "+49 30 1234",
    "contact_title": "Head of Alliances",
    "expected_annual_revenue": "250000",
    "expected_deals_per_quarter": 12,
    "business_description": "Managed security services for mid-sized manufacturers.",
}


@pytest.fixture
def reviewer(db):
    """A channel manager who reviews applications."""
    return make_staff(StaffRole.CHANNEL_MANAGER, username="riley", email="riley@vendor.example")


@pytest.fixture
def application(db):
    return services.application_submit(data=dict(APPLICATION), ip_address="203.0.113.7")


@pytest.fixture
def checklist_template(db):
    template = ChecklistTemplate.objects.create(name="Resellers", partner_type="reseller")
    items = [
        ("profile", "Complete your profile", "profile.completed", 7),
        ("tax-form", "Upload your tax form", "tax_form.uploaded", 14),
        ("agreement", "Accept the program agreement", "agreement.accepted", 3),
        ("team", "Invite your team", "team.invited", 14),
        ("training", "Complete the first training", "", 30),
        ("first-deal", "Register your first deal", "deal.registered", 60),
    ]
    for position, (key, title, event, days) in enumerate(items):
        ChecklistTemplateItem.objects.create(
            template=template, key=key, title=title, event=event, due_days=days, position=position
        )
    return template


class Receiver:
    """A downstream system: answers with the queued status codes (then 200) and records every request."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"busy")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/partnerhub"

    @property
    def accepted(self) -> list[dict]:
        return [r for r in self.requests if r["status"] < 300]

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.accepted]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        r = Receiver(statuses)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def endpoint_for(db):
    def make(receiver, events=("partner.provisioned", "partner.offboarded")):
        return WebhookEndpoint.objects.create(name="CRM", url=receiver.url, events=list(events))

    return make
