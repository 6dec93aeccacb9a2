"""The console's change-list rows (``partnerhub.templatetags.console_list``) are the admin's, cell for cell."""

from __future__ import annotations

import pytest
from django.contrib.admin.templatetags import admin_list
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import get_script_prefix, resolve, reverse, set_script_prefix

from partnerhub.admin_site import console
from partnerhub.templatetags import console_list
from tests.factories import UserFactory
from tests.quality.world import build_world

pytestmark = pytest.mark.django_db


def changelist(model_admin, user, query: str = ""):
    opts = model_admin.model._meta
    url = reverse(f"{console.name}:{opts.app_label}_{opts.model_name}_changelist")
    request = RequestFactory().get(url + query)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    # The list's filters are kept in its rows' links only on the list itself, which the admin reads from here
    request.resolver_match = resolve(url[len(get_script_prefix()) - 1 :])
    cl = model_admin.get_changelist_instance(request)
    cl.formset = None  # the change list view sets it (a form set only for list_editable)
    return cl


def both(cl) -> tuple[list, list]:
    theirs = [[str(cell) for cell in row] for row in admin_list.results(cl)]
    ours = [[str(cell) for cell in row] for row in console_list.results(cl)]
    return theirs, ours


@pytest.fixture
def world():
    return build_world()


def test_every_console_list_has_the_admins_rows(world):
    root = UserFactory(username="root-console", is_staff=True, is_superuser=True)
    compared = 0
    for model, model_admin in console._registry.items():
        cl = changelist(model_admin, root)
        theirs, ours = both(cl)
        assert ours == theirs, model.__name__
        compared += len(theirs)
    assert compared > 20  # the world has rows on the lists, so cells were compared


@pytest.mark.parametrize("query", ["?status__exact=active", "?q=Zyqxal&o=2.-1", "?partner_type__exact=reseller"])
def test_the_lists_filters_go_into_every_rows_link(world, query):
    root = UserFactory(username="root-filters", is_staff=True, is_superuser=True)
    from partnerhub.models import Partner

    cl = changelist(console._registry[Partner], root, query)
    theirs, ours = both(cl)
    assert ours == theirs
    assert theirs, "the world has a partner on this list"
    assert "_changelist_filters=" in ours[0][1]


def test_a_script_prefix_is_kept(world):
    root = UserFactory(username="root-prefix", is_staff=True, is_superuser=True)
    from partnerhub.models import Membership

    try:
        set_script_prefix("/partners/")
        cl = changelist(console._registry[Membership], root)
        theirs, ours = both(cl)
    finally:
        set_script_prefix("/")
    assert theirs and ours == theirs
    assert 'href="/partners/console/' in "".join(ours[0])
