"""Shared fixtures. The suite runs against real PostgreSQL and Redis (see `make test`)."""
import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests import factories

pytest_plugins = ["tests.fixtures_live", "tests.fixtures_security"]


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    db = settings.DATABASES["default"]
    problems = []
    if not db["ENGINE"].endswith("postgresql"):
        problems.append(
            "DATABASE_URL does not point at PostgreSQL. Run the suite with `make test` "
            "(it sets DATABASE_URL=postgres://postgres@127.0.0.1:5432/pmhub by default)."
        )
    elif not _reachable(f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432):
        problems.append(
            f"PostgreSQL at {db.get('HOST')}:{db.get('PORT') or 5432} is unreachable. Start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set. Run the suite with `make test` (default redis://127.0.0.1:6379/15).")
    elif not _reachable(settings.REDIS_URL, 6379):
        problems.append(
            f"Redis at {urlparse(settings.REDIS_URL).netloc} is unreachable. Start it with: "
            'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        )
    if problems:
        pytest.exit("Cannot run the tests:\n  " + "\n  ".join(problems), returncode=3)


@pytest.fixture(autouse=True)
def _celery_eager(settings):
    """Tasks run in-process unless a test starts a real worker (see fixtures_live)."""
    from pmhub.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def user_factory():
    return factories.UserFactory


@pytest.fixture
def product_factory():
    return factories.ProductFactory


@pytest.fixture
def product(db):
    return factories.ProductFactory()


@pytest.fixture
def pm(product):
    return factories.member(product, "pm")


@pytest.fixture
def data_scientist(product):
    return factories.member(product, "data_scientist")


@pytest.fixture
def viewer(product):
    return factories.member(product, "viewer")


@pytest.fixture
def outsider(db):
    return factories.UserFactory(username="outsider")


@pytest.fixture
def staff(db):
    return factories.UserFactory(username="staffer", is_staff=True)


@pytest.fixture
def api():
    """A DRF client; `api.as_user(user)` authenticates with a fresh token."""
    from rest_framework.test import APIClient

    class Client(APIClient):
        def as_user(self, user):
            from pmhub.services import api_token_create

            _, raw = api_token_create(user=user, name="tests")
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            return self

    return Client()


@pytest.fixture
def artifacts_dir():
    path = os.path.join(settings.BASE_DIR, "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path
