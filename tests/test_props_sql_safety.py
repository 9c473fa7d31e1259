"""SQL safety of the CLI filters: every search, filter and sort value is a bound parameter or checked
against a whitelist. Hypothesis feeds quotes, ``%``, ``_``, backslashes, NUL, CJK and SQL fragments to
``quarantine list``, ``audit show``, ``review list``, ``runs show`` and ``export profiles`` on SQLite
and PostgreSQL, and checks that:

- no value ends in an internal error (exit 70: an unhandled exception such as a SQL syntax error);
- a filter value is compared literally: ``%`` and ``_`` are not wildcards, a quote does not end a
  string, so a value that names nothing finds nothing, and the real value still finds its rows;
- the store is intact afterwards (the tables and their row counts are unchanged).
"""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import copy_example, run_cli, table_rows

NASTY = st.one_of(
    st.sampled_from(["'", "''", "\"", "%", "_", "%%", "a%", "_a", "\\", "\\%", "' OR '1'='1", "x'; DROP TABLE runs; --",
                     "\x00", "a\x00b", "王小明", "示例%科技", "；", "\u3000", "*", "[a-z]", "$1", ":name", "?"]),
    st.text(alphabet=st.sampled_from(list("'\"%_\\;-*/ \x00王李張ａＡ0aZ()=")), min_size=1, max_size=12),
)
TABLES = ("source_records", "quarantine", "runs", "stream_state", "identity_profiles", "identity_members")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def populated(request, tmp_path_factory):
    """The bundled example ingested once (records, quarantine rows, profiles, audit entries)."""
    tmp_path = tmp_path_factory.mktemp("sql")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        import uuid

        import sqlalchemy

        from tests.conftest import PG_ADMIN_URL
        name = f"custhub_sqlsafety_{uuid.uuid4().hex[:8]}"
        admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sqlalchemy.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        request.addfinalizer(drop)
    config = str(copy_example(tmp_path, url))
    assert run_cli("--config", config, "run") in (0, 3)
    counts = {t: table_rows(url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}  # noqa: S608 - fixed names
    return config, url, counts


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = run_cli(*args)
    return code, out.getvalue()


def assert_intact(url: str, counts: dict) -> None:
    assert {t: table_rows(url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES} == counts  # noqa: S608


def assume_bindable(url: str, value: str) -> None:
    """An argument with NUL is refused up front (an exec'd argv cannot hold one): see the NUL test below."""
    assume("\x00" not in value)


FILTERS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@FILTERS
@given(value=NASTY)
def test_quarantine_list_connection_filter_is_literal(populated, value):
    config, url, counts = populated
    assume_bindable(url, value)
    code, out = cli("--config", config, "quarantine", "list", "--status", "all", "--limit", "500", "--", value)
    assert code == 0, out
    assert "internal error" not in out
    real = {c for c, in table_rows(url, "SELECT DISTINCT connection FROM quarantine")}
    if value not in real:
        for connection in real:  # a wildcard or a broken quote would list the real connections' rows
            assert f"│ {connection} " not in out
    assert_intact(url, counts)


@FILTERS
@given(value=NASTY)
def test_whitelisted_options_refuse_cleanly(populated, value):
    config, url, counts = populated
    assume_bindable(url, value)
    code, out = cli("--config", config, "quarantine", "list", "--status", value)
    assert code != 70, out  # refused as a config error, never an internal error
    assert code != 0 or value in ("open", "resolved", "all")
    code, out = cli("--config", config, "review", "list", "--status", value)  # bound, not whitelisted
    assert code == 0 and "internal error" not in out, out
    assert_intact(url, counts)


@FILTERS
@given(value=NASTY, option=st.sampled_from(["--actor", "--subject", "--action", "--since", "--until"]))
def test_audit_show_filters_are_bound(populated, value, option):
    config, url, counts = populated
    assume_bindable(url, value)
    code, out = cli("--config", config, "audit", "show", option, value)
    assert code != 70 and "internal error" not in out, out
    if option in ("--actor", "--subject", "--action"):
        assert code == 0, out
    assert_intact(url, counts)


@FILTERS
@given(value=NASTY)
def test_export_purpose_is_checked(populated, value, tmp_path_factory):
    config, url, counts = populated
    assume_bindable(url, value)
    target = tmp_path_factory.mktemp("x") / "out.jsonl"
    code, out = cli("--config", config, "export", "profiles", "--purpose", value, "-o", str(target))
    assert code != 70, out
    assert_intact(url, counts)


def test_a_value_of_the_wrong_type_is_a_usage_error(populated):
    config, url, counts = populated
    for args in (["runs", "show", "1' OR '1'='1"], ["quarantine", "list", "--limit", "%"]):
        code, out = cli("--config", config, *args)
        assert code == 2 and "internal error" not in out, out  # click's usage-error exit code
    assert_intact(url, counts)


def test_nul_in_a_filter_is_a_clear_error(populated):
    """PostgreSQL text cannot hold NUL (it raised DataError, an internal error): refused up front on both."""
    config, url, counts = populated
    for args in (["review", "list", "--status", "a\x00b"], ["audit", "show", "--actor", "a\x00"],
                 ["quarantine", "list", "--", "a\x00"]):
        code, out = cli("--config", config, *args)
        assert code == 2 and "NUL character" in out and "internal error" not in out, (args, out)
    assert_intact(url, counts)


def test_the_real_values_still_match(populated):
    """The filters are not vacuous: the real connection name lists its quarantine rows."""
    config, url, _ = populated
    rows = table_rows(url, "SELECT connection, count(*) FROM quarantine GROUP BY connection")
    assert rows, "the example should quarantine something"
    connection, _ = rows[0]
    code, out = cli("--config", config, "quarantine", "list", connection, "--status", "all", "--limit", "500")
    assert code == 0 and f"│ {connection} " in out
