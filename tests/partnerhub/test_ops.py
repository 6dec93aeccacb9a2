"""Operations: the deployment files, the demo data, the API key command and the health endpoint."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from PIL import Image
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from partnerhub.api.authentication import ApiTokenAuthentication
from partnerhub.auth_backends import user_may_sign_in
from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType, StaffRole
from partnerhub.management.commands.seed_demo import DEMO_PASSWORD
from partnerhub.models import ApiToken, AuditEvent, Invitation, Membership, Partner, PartnerBrand, Tier, User

ROOT = Path(__file__).resolve().parents[2]


# docker-compose.yml and Dockerfile -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_declares_every_service_with_a_health_check(compose):
    services = compose["services"]
    for name in ("web", "worker", "beat", "db", "redis"):
        assert name in services, name
        assert services[name]["healthcheck"]["test"], f"{name} has no health check command"


def test_compose_runs_the_right_programs(compose):
    services = compose["services"]
    assert services["web"]["command"][:2] == ["gunicorn", "partnerhub.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "partnerhub", "worker"]
    beat = " ".join(services["beat"]["command"])
    assert "beat" in beat and "django_celery_beat.schedulers:DatabaseScheduler" in beat
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"


def test_compose_migrates_before_the_application_starts(compose):
    services = compose["services"]
    assert "migrate" in services["migrate"]["command"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy", name


def test_compose_runs_production_mode_with_required_settings_and_volumes(compose):
    services = compose["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["PARTNERHUB_ENV"] == "production"
        for variable in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
            assert env.get(variable), f"{name} lacks {variable}"
        # Secrets come from the operator's environment, never from the file itself.
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert "media:/app/media" in services[name]["volumes"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in services["db"]["volumes"])
    assert {"db-data", "media"} <= set(compose["volumes"])


def test_dockerfile_builds_a_non_root_image_with_collected_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    collect = next(line for line in dockerfile.split("RUN ") if "collectstatic" in line)
    assert "PARTNERHUB_ENV=production" in collect


# seed_demo -----------------------------------------------------------------------------------------------------


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Tier, Partner, PartnerBrand, Membership, Invitation, AuditEvent)
    }


@pytest.fixture
def seeded(db):
    return _seed()


def test_seed_demo_twice_adds_nothing_the_second_time(seeded):
    first = _counts()
    assert first["Partner"] >= 4 and first["Invitation"] >= 1
    logos = {brand.pk: brand.logo.name for brand in PartnerBrand.objects.all()}

    again = _seed()

    assert _counts() == first
    assert {brand.pk: brand.logo.name for brand in PartnerBrand.objects.all()} == logos
    assert "nothing to add" in again


def test_seed_demo_channel_manager_manages_some_partners_but_not_all(seeded):
    carla = User.objects.get(username="carla")
    assert carla.is_staff and carla.groups.filter(name="Vendor: Channel manager").exists()
    managed = set(Partner.objects.for_user(carla).values_list("slug", flat=True))
    assert managed and managed < set(Partner.objects.values_list("slug", flat=True))
    # ...and the partners another channel manager looks after are not in her view.
    chris = User.objects.get(username="chris")
    assert not managed & set(Partner.objects.for_user(chris).values_list("slug", flat=True))


def test_seed_demo_creates_every_vendor_staff_role(seeded):
    for role in StaffRole:
        holders = User.objects.filter(is_staff=True, groups__name=f"Vendor: {role.label}")
        assert holders.exists(), role
    assert User.objects.filter(is_superuser=True).exists()


def test_seed_demo_partners_are_varied_and_branded(seeded):
    partners = list(Partner.objects.select_related("brand", "tier", "parent"))
    assert len({p.partner_type for p in partners}) >= 3
    assert len({p.tier_id for p in partners if p.tier_id}) >= 3
    assert PartnerStatus.ONBOARDING in {p.status for p in partners}
    assert PartnerStatus.ACTIVE in {p.status for p in partners}
    colours = [p.brand.primary_color for p in partners]
    assert len(set(colours)) == len(colours)
    for partner in partners:
        brand = partner.brand
        assert brand.tagline and brand.support_email
        with Image.open(brand.logo.path) as logo:
            assert logo.format == "PNG" and (logo.width, logo.height) == (brand.logo_width, brand.logo_height)
    # Two-tier distribution: a reseller buying through a distributor.
    child = next(p for p in partners if p.parent_id)
    assert child.parent.partner_type == PartnerType.DISTRIBUTOR
    assert Tier.objects.filter(rank=1).exclude(benefits="").exists()


def test_seed_demo_every_partner_has_an_admin_and_a_rep(seeded):
    for partner in Partner.objects.all():
        roles = set(Membership.objects.filter(partner=partner, is_active=True).values_list("role", flat=True))
        assert roles == {MembershipRole.ADMIN, MembershipRole.REP}, partner
    in_two = User.objects.filter(memberships__is_active=True).values("pk")
    assert any(Membership.objects.filter(user_id=row["pk"], is_active=True).count() >= 2 for row in in_two)
    assert Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).exists()


def test_seed_demo_prints_logins_that_work_and_portal_urls(seeded):
    assert DEMO_PASSWORD in seeded
    for partner in Partner.objects.select_related("brand"):
        assert f"http://{partner.brand.subdomain}.localhost:8000/" in seeded
    for user in User.objects.all():
        assert user.username in seeded and user.email in seeded
        assert user.check_password(DEMO_PASSWORD)
    signable = [u for u in User.objects.filter(is_staff=False) if user_may_sign_in(u)]
    assert signable, "no partner user of the demo can sign in"


def test_seed_demo_refuses_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="does not run in production"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Partner.objects.exists()


# issue_api_key -------------------------------------------------------------------------------------------------


def _authenticate(key: str):
    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}")
    return ApiTokenAuthentication().authenticate(request)


def test_issue_api_key_prints_a_key_that_authenticates(rep_a):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_key", rep_a.username, "--name", "CRM sync", "--days", "30", stdout=out, stderr=err)
    key = out.getvalue().strip()

    user, token = _authenticate(key)

    assert user == rep_a
    assert token.name == "CRM sync"
    assert 29 <= (token.expiry - token.created).days <= 30
    assert key not in {t.digest for t in ApiToken.objects.all()}  # only the hash is stored
    assert "shown only once" in err.getvalue()
    with pytest.raises(AuthenticationFailed):
        _authenticate(key[:-1] + ("0" if key[-1] != "0" else "1"))


def test_issue_api_key_accepts_an_email_address(admin_a):
    out = io.StringIO()
    call_command("issue_api_key", admin_a.email.upper(), stdout=out, stderr=io.StringIO())
    assert _authenticate(out.getvalue().strip())[0] == admin_a


def test_issue_api_key_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user with the username or e-mail “ghost”"):
        call_command("issue_api_key", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_issue_api_key_rejects_an_out_of_range_lifetime(rep_a):
    with pytest.raises(CommandError, match="1 to 366 days"):
        call_command("issue_api_key", rep_a.username, "--days", "400", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


# /healthz ------------------------------------------------------------------------------------------------------


def test_healthz_reports_every_check_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert isinstance(check["latency_ms"], int | float) and check["latency_ms"] >= 0


def test_healthz_is_degraded_when_the_broker_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True and body["checks"]["cache"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode()  # no addresses, URLs or error texts leak
    assert body["checks"]["broker"]["latency_ms"] < 10_000


def test_healthz_checks_the_filesystem_broker_folders(client, db, settings, tmp_path):
    queue = tmp_path / "queue"
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(queue), "data_folder_out": str(queue)}

    assert client.get("/healthz").status_code == 503  # the queue folder does not exist yet

    queue.mkdir()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["ok"] is True


def test_healthz_needs_no_sign_in_and_only_reads(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert "no-store" in client.get("/healthz")["Cache-Control"]
