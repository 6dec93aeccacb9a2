"""Production mode: refuses to start without its required settings, and passes Django's deployment checklist."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh interpreter with only ``env`` (plus PATH) in its environment.

    The required variables are always passed, empty unless given, so that a developer's .env file cannot
    fill them in (values already in the environment win over .env).
    """
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PARTNERHUB_ENV": "production"}
    clean.update(dict.fromkeys(REQUIRED, ""))
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def _production_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "partners.example.com,.partners.example.com",
        "DATABASE_URL": "postgres://partnerhub:secret@db.example.com:5432/partnerhub",
    }


def test_production_refuses_to_start_without_any_required_setting():
    result = _manage("check")

    assert result.returncode != 0
    assert "PARTNERHUB_ENV=production" in result.stderr
    for name in REQUIRED:
        assert name in result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_names_exactly_the_missing_setting(missing):
    env = _production_env()
    env[missing] = ""

    result = _manage("check", **env)

    assert result.returncode != 0
    message = next(line for line in result.stderr.splitlines() if "needs these environment variables" in line)
    assert message.rstrip().endswith(missing)
    for other in set(REQUIRED) - {missing}:
        assert other not in message


def test_production_passes_the_deployment_checklist():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _compose_environment() -> dict[str, str]:
    """The web service's environment from docker-compose.yml, with the operator's .env values filled in."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    operator = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "PARTNERHUB_HOST": "partners.example.com",
    }

    def substitute(value: str) -> str:
        def one(match: re.Match) -> str:
            name, op, default = match.group(1), match.group(2), match.group(3)
            if name in operator:
                return operator[name]
            if op == ":-":
                return default
            raise AssertionError(f"docker-compose.yml needs {name}, which the README does not ask for")

        return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))

    return {key: substitute(value) for key, value in compose["services"]["web"]["environment"].items()}


def test_the_compose_deployment_passes_the_deployment_checklist():
    env = _compose_environment()
    assert env["PARTNERHUB_ENV"] == "production"

    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 0, result.stdout + result.stderr


def test_development_needs_no_configuration():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PARTNERHUB_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
