"""The real published ``airbyte-source-faker``, installed into its own venv and read as a subprocess.

The venv lives in a persistent cache (``CUSTHUB_TEST_CACHE``, default ``~/.cache/custhub-tests``),
so only the first run downloads. The test skips only when the package registry cannot be reached.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub import paths
from hub.mapping import load_mapping
from hub.protocol import Record, State, StreamSelection
from hub.sources.subprocess_runner import ExternalAirbyteSource
from hub.sources.venv_installer import InstallError, install_connector

PACKAGE = "airbyte-source-faker"
PIP_SPEC = "airbyte-source-faker==7.2.1"
CONFIG = {"count": 50, "seed": 1}
USER_FIELDS = {"id", "created_at", "updated_at", "name", "title", "age", "email", "telephone", "gender",
               "language", "academic_degree", "nationality", "occupation", "height", "blood_type", "weight",
               "address"}
ADDRESS_FIELDS = {"street_number", "street_name", "city", "state", "province", "postal_code", "country_code"}

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def faker_source():
    cache = Path(os.environ.get("CUSTHUB_TEST_CACHE") or Path.home() / ".cache" / "custhub-tests")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTHUB_HOME", str(cache))
        try:
            install_connector(PACKAGE, PIP_SPEC)
        except InstallError as error:
            if error.unreachable:
                pytest.skip(f"the package registry cannot be reached to install {PIP_SPEC}: {error}")
            raise
        yield ExternalAirbyteSource(PACKAGE, pip_spec=PIP_SPEC)


def test_faker_discovers_and_reads_users(faker_source):
    assert faker_source.check(CONFIG).ok
    streams = {s.name: s for s in faker_source.discover(CONFIG)}
    assert {"users", "products", "purchases"} <= set(streams)
    assert "incremental" in streams["users"].supported_sync_modes
    assert streams["users"].source_defined_primary_key == (("id",),)

    messages = list(faker_source.read(CONFIG, [StreamSelection("users")], {}))
    users = [m.data for m in messages if isinstance(m, Record)]
    assert len(users) == 50
    assert {m.stream for m in messages if isinstance(m, Record)} == {"users"}
    assert sorted(u["id"] for u in users) == list(range(1, 51))
    for user in users:
        assert USER_FIELDS <= set(user)
        assert ADDRESS_FIELDS <= set(user["address"])
        assert "@" in user["email"]
    states = [m for m in messages if isinstance(m, State)]
    assert states and states[-1].stream == "users"
    assert states[-1].message["stream"]["stream_state"]["loop_offset"] == 50

    mapping = load_mapping(paths.bundled_dir("mappings") / "faker_users.yaml")
    for user in users:
        person = mapping.apply(user)["person"]
        assert person["name"]["given"] == user["name"]
        assert person["emails"] == [{"address": user["email"]}]
        assert person["phones"] == [{"number": user["telephone"]}]
        assert person["gender"] in ("male", "female", "other")
        assert person["addresses"][0]["city"] == user["address"]["city"]
        assert person["addresses"][0]["country"] == user["address"]["country_code"]


def test_faker_resumes_from_its_state(faker_source):
    first = list(faker_source.read({**CONFIG, "always_updated": False}, [StreamSelection("users")], {}))
    state = [m for m in first if isinstance(m, State)][-1]
    again = list(faker_source.read({**CONFIG, "always_updated": False}, [StreamSelection("users")],
                                   {"users": state.message}))
    assert not [m for m in again if isinstance(m, Record)]


def test_custhub_run_reads_faker_users_into_canonical_records(faker_source, tmp_path, monkeypatch):
    """The issue's acceptance: `custhub run` on an airbyte:source-faker connection stores canonical users."""
    import json

    import yaml

    from hub.store.records import open_canonical
    from tests.helpers import run_cli, table_rows

    cache = Path(os.environ.get("CUSTHUB_TEST_CACHE") or Path.home() / ".cache" / "custhub-tests")
    monkeypatch.setenv("CUSTHUB_HOME", str(cache))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = {"version": 1, "store": {"url": url}, "cleaning": {"default_region": "US"},
              "connections": {"faker": {"source": "airbyte:source-faker", "install": {"pip": PIP_SPEC},
                                        "config": {**CONFIG, "always_updated": False},
                                        "streams": {"users": {"mapping": "faker_users"}}}}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    assert run_cli("--config", str(path), "run") in (0, 3)

    (stored,), = table_rows(url, "SELECT count(*) FROM source_records WHERE connection = 'faker'")
    (quarantined,), = table_rows(url, "SELECT count(*) FROM quarantine WHERE connection = 'faker'")
    assert stored + quarantined == 50 and stored > 0
    for c, stream, pk, canonical in table_rows(url, "SELECT connection, stream, source_pk, canonical "
                                                    "FROM source_records LIMIT 5"):
        record = open_canonical(c, stream, pk, canonical)
        assert record["schema_version"] == "1.0"
        assert record["provenance"]["connection"] == "faker" and record["provenance"]["stream"] == "users"
        assert record["person"]["emails"][0]["address"]
    (state,), = table_rows(url, "SELECT state FROM stream_state WHERE connection = 'faker'")
    assert json.loads(state)["stream"]["stream_state"]["loop_offset"] == 50
    # a second run resumes from the stored state: nothing new, nothing duplicated
    assert run_cli("--config", str(path), "run") in (0, 3)
    assert table_rows(url, "SELECT count(*) FROM source_records") == [(stored,)]
