"""Property-based fuzzing of the whole REST API with Schemathesis, against the OpenAPI schema the app serves.

Every operation of ``/api/schema/`` is called in-process, with a real API key, as a partner admin, as vendor
staff in partner operations and as a channel manager of one partner, on a database with partners, people,
invitations in every state, tiers and keys (``fuzz_support.build_world``). About half the detail requests use a
real id, in or out of the caller's scope. Each generated request must:

* never get a 5xx (``not_a_server_error``);
* get a status code the schema documents for the operation (``status_code_conformance``);
* get the documented content type (``content_type_conformance``);
* get a body that validates against the documented schema for that status, errors included
  (``response_schema_conformance``).

Each example runs in a savepoint that is rolled back, so a suspension, deactivation or key revocation made by
one example does not change what the next one sees.

``FUZZ_MAX_EXAMPLES`` sets the generated examples per operation and caller (default 15, ``make fuzz`` uses 200);
generation is derandomized, so a run is reproducible. The schema itself is validated with
``manage.py spectacular --validate --fail-on-warn`` in ``tests/partnerhub/test_api_schema.py``.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partnerhub.wsgi import application
from tests.quality import fuzz_support

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
# The coverage phase derives boundary and invalid values from every constraint of the schema, thousands of
# requests in all, and builds them while tests are collected; ``make fuzz`` turns it on.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "") not in ("", "0")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
schema.config.phases.coverage.enabled = COVERAGE
schema.hook(fuzz_support.flatmap_path_parameters)


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The data, built once per module in a transaction that is rolled back afterwards.

    Each test's own transaction (``django_db``) and each example's savepoint nest inside it.
    """
    with django_db_blocker.unblock(), fuzz_support.rolled_back(), fuzz_support.keep_test_connection():
        world = fuzz_support.build_world()
        fuzz_support.set_current_world(world)
        try:
            yield world
        finally:
            fuzz_support.set_current_world(None)


@pytest.fixture
def examples(request):
    """Counts the requests one test sent (shown as a ``user_properties`` entry, e.g. in ``--junitxml``)."""
    sent: list[int] = []
    yield sent
    request.node.user_properties.append(("examples", len(sent)))


@pytest.mark.django_db
@pytest.mark.parametrize("caller", fuzz_support.CALLERS)
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_operation(case, caller, fuzz_world, examples):
    with fuzz_support.rolled_back():
        examples.append(1)
        response = case.call_and_validate(headers={"Authorization": f"Token {fuzz_world.keys[caller]}"}, checks=CHECKS)
        # Every request carries a valid key; a 401 would mean the run tests nothing but the authentication.
        assert response.status_code != 401, response.text


def test_served_schema_is_valid_and_every_operation_is_fuzzed():
    """The schema as clients (and the test above) load it over HTTP is valid OpenAPI 3, and Schemathesis makes
    a test of every operation in it: none is dropped as unusable."""
    validate_schema(schema.raw_schema)
    results = list(schema.get_all_operations())
    assert [result.err() for result in results if isinstance(result, Err)] == []
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in METHODS
    }
    assert {result.ok().label for result in results} == documented
    core = {"GET /api/v1/partners/{id}/", "POST /api/v1/partners/{id}/suspend/", "DELETE /api/v1/memberships/{id}/"}
    assert core <= documented


@pytest.mark.django_db
def test_callers_keys_work_and_real_ids_name_rows(fuzz_world):
    """The fuzz test's premises: each caller's key signs them in, and the ids it swaps into detail routes name
    real rows, some in and some out of a partner admin's scope."""
    clients = {}
    for caller, key in fuzz_world.keys.items():
        clients[caller] = APIClient()
        clients[caller].credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert clients[caller].get("/api/v1/me/").status_code == 200, caller

    for resource in ("partners", "tiers", "memberships", "invitations"):
        codes = [clients["partner_ops"].get(f"/api/v1/{resource}/{pk}/").status_code for pk in fuzz_world.ids[resource]]
        assert codes == [200] * len(codes), resource
    admin_codes = {
        clients["partner_admin"].get(f"/api/v1/partners/{pk}/").status_code for pk in fuzz_world.ids["partners"]
    }
    assert admin_codes == {200, 404}
    # Each caller's spare key (and partner B's admin's) is a real key: its owner can revoke it, nobody else.
    own = [
        key
        for key in fuzz_world.ids["tokens"]
        if clients["partner_ops"].delete(f"/api/v1/me/tokens/{key}/").status_code == 204
    ]
    assert len(own) == 1
