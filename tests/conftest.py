import sys

# Keep a developer's installed third-party plugins out of the test suite.
sys._called_from_test = True  # type: ignore[attr-defined]

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

# One KEK for the whole test session, so that no test writes a key file next to a bundled config.
# Tests of the KEK handling itself set or remove it with monkeypatch.
if not os.environ.get("CUSTHUB_KEK"):
    from hub.privacy.keys import generate_kek  # noqa: E402

    os.environ["CUSTHUB_KEK"] = generate_kek()

PG_ADMIN_URL = os.environ.get("CUSTHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    """None when the test PostgreSQL server answers, else why not."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


_PG_PROBLEM = _pg_reachable()


def pytest_report_header(config):
    if _PG_PROBLEM is None:
        return f"postgresql: available at {PG_ADMIN_URL}"
    return f"postgresql: NOT available ({_PG_PROBLEM})"


def pytest_collection_modifyitems(config, items):
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI") == "true":
        return  # in CI PostgreSQL tests must run: let them fail loudly instead of skipping
    marker = pytest.mark.skip(reason=f"PostgreSQL not reachable at {PG_ADMIN_URL}: {_PG_PROBLEM}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter):
    if _PG_PROBLEM is not None:
        terminalreporter.write_line(
            f"WARNING: PostgreSQL tests were skipped: {PG_ADMIN_URL} is not reachable ({_PG_PROBLEM})",
            red=True, bold=True)


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy

    name = f"custhub_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sqlalchemy.engine.make_url(PG_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A fresh store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'custhub.db'}"
    return request.getfixturevalue("pg_url")
