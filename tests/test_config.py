"""Invalid configs are refused at load with one exact line naming file, path and fix."""

from __future__ import annotations

import pytest
import yaml

from hub.config import load_config, missing_secrets
from hub.errors import ConfigError

VALID = {
    "version": 1,
    "store": {"url": "sqlite:///custhub.db"},
    "connections": {
        "forms": {
            "source": "file",
            "config": {"files": [{"path": "samples/webform_contacts.csv", "stream": "contact_form"}]},
            "streams": {"contact_form": {"mapping": "webform_contact"}},
        }
    },
}


def write(tmp_path, data) -> str:
    path = tmp_path / "custhub.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return str(path)


def variant(path: str, value, *, delete: bool = False) -> dict:
    data = yaml.safe_load(yaml.safe_dump(VALID))
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


CASES = [
    ("top-level typo", {**VALID, "conections": {}},
     "conections: unknown key (did you mean 'connections'?)"),
    ("missing store", variant("store", None, delete=True), "(top level): missing required key 'store' (add 'store')"),
    ("wrong version", variant("version", 2), "version: must be 1 (set 'version: 1')"),
    ("bad store url", variant("store.url", "mysql://x"),
     "store.url: has an invalid form (use sqlite:///path/to/custhub.db or postgresql+psycopg://user@host/db)"),
    ("stream key typo", variant("connections.forms.streams.contact_form", {"maping": "webform_contact"}),
     "connections.forms.streams.contact_form.maping: unknown key (did you mean 'mapping'?)"),
    ("unknown source", variant("connections.forms.source", "fiel"),
     "connections.forms.source: unknown source 'fiel' (did you mean 'file'?)"),
    ("connector config checked against its spec", variant("connections.forms.config", {"files": [{"pth": "x.csv"}]}),
     "connections.forms.config.files[0].pth: unknown key (did you mean 'path'?)"),
    ("unknown mapping", variant("connections.forms.streams.contact_form.mapping", "webform_contcat"),
     "connections.forms.streams.contact_form.mapping: mapping 'webform_contcat' not found "
     "(add mappings/webform_contcat.yaml or fix the name)"),
    ("bad connection name", {**VALID, "connections": {"Forms!": VALID["connections"]["forms"]}},
     "connections: invalid name 'Forms!' (use lower-case letters, digits, '_' and '-', starting with a letter)"),
    ("bad schedule", variant("connections.forms.schedule", {"interval": "often"}),
     "connections.forms.schedule.interval: has an invalid form (use a number and a unit, e.g. '30m' or '6h')"),
    ("bad region", {**VALID, "cleaning": {"default_region": "china"}},
     "cleaning.default_region: has an invalid form (use an ISO 3166 country code such as CN)"),
    ("streams empty", variant("connections.forms.streams", {}),
     "connections.forms.streams: must not be empty (list at least one stream with its mapping)"),
    ("not a mapping", "- just\n- a list\n", "(top level): must be a YAML mapping (start from `custhub init`)"),
    ("yaml syntax", "version: 1\nstore: {url: [\n", None),
]


@pytest.mark.parametrize(("case", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_config_is_refused_with_one_line(tmp_path, case, data, expected):
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    if expected is None:
        assert "invalid YAML" in message and "line " in message
    else:
        assert message == f"{path}: {expected}"


def test_secret_never_appears_in_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("STORE_SECRET_URL", "postgresql://admin:hunter2-SECRET@db/x")
    data = variant("store.url", {"$env": "STORE_SECRET_URL"})
    data["connections"]["forms"]["config"] = {"files": [{"path": "a.csv", "paths": {"$env": "STORE_SECRET_URL"}}]}
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "hunter2" not in str(info.value)
    assert str(info.value) == f"{path}: connections.forms.config.files[0].paths: unknown key (did you mean 'path'?)"


def test_secret_file_and_env_resolve_lazily(tmp_path, monkeypatch):
    (tmp_path / "token.txt").write_text("s3cr3t\n")
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["store"]["url"] = {"$env": "CUSTHUB_TEST_STORE"}
    monkeypatch.setenv("CUSTHUB_TEST_STORE", f"sqlite:///{tmp_path / 'x.db'}")
    config = load_config(write(tmp_path, data))
    assert config.store_url.endswith("x.db")
    refs = {"token": {"$file": "token.txt"}, "key": {"$env": "CUSTHUB_TEST_MISSING"}}
    assert [r.target for r in missing_secrets(refs, base_dir=tmp_path)] == ["CUSTHUB_TEST_MISSING"]
    assert config.resolve({"token": {"$file": "token.txt"}}) == {"token": "s3cr3t"}
    with pytest.raises(ConfigError) as info:
        config.resolve({"nested": {"key": {"$env": "CUSTHUB_TEST_MISSING"}}})
    assert str(info.value).endswith(
        "nested.key: environment variable CUSTHUB_TEST_MISSING is not set "
        "(export CUSTHUB_TEST_MISSING=... before running custhub)")


def test_store_url_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTHUB_STORE_URL", "sqlite:///elsewhere.db")
    assert load_config(write(tmp_path, VALID)).store_url == "sqlite:///elsewhere.db"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: config file not found " \
                              "(check the path, or run `custhub init` to write one)"
