"""The ``identity`` section of the config: parsed into settings, invalid values name path and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.config import load_config
from hub.errors import ConfigError
from hub.identity.settings import IdentitySettings, parse_identity
from tests.helpers import copy_example


def _config_with(tmp_path: Path, identity: dict) -> Path:
    path = copy_example(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    data = yaml.safe_load(path.read_text("utf-8"))
    data["identity"] = identity
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_the_example_config_gets_the_defaults():
    assert load_config().identity == IdentitySettings()


def test_settings_are_read_into_the_config(tmp_path):
    config = load_config(_config_with(tmp_path, {
        "match_threshold": 0.97, "review_threshold": 0.6, "resolve_after_ingest": False,
        "keys": {"phone": {"max_names": 2}, "crm": {"limit": 2}},
        "blocked_values": {"email": ["^expo2026@"]},
        "survivorship": {"default": "source_priority", "source_priority": ["crm_export"],
                         "fields": {"title": "most_complete"}}}))
    s = config.identity
    assert (s.match_threshold, s.review_threshold, s.resolve_after_ingest) == (0.97, 0.6, False)
    assert s.rule_for("phone").max_names == 2 and s.rule_for("phone").limit == 5
    assert s.rule_for("crm").limit == 2
    assert s.is_blocked("email", "expo2026@corp.cn") and s.is_blocked("email", "info@corp.cn")
    assert s.source_priority == ("crm_export",) and s.default_rule == "source_priority"
    assert s.field_rules["title"] == "most_complete" and s.field_rules["name"] == "most_complete"


@pytest.mark.parametrize(("identity", "message"), [
    ({"match_treshold": 0.9}, "identity.match_treshold: unknown key (did you mean 'match_threshold'?)"),
    ({"match_threshold": 1.5}, "identity.match_threshold"),
    ({"keys": {"fax": {"limit": 1}}}, "identity.keys"),
    ({"survivorship": {"fields": {"name": "loudest"}}}, "identity.survivorship.fields.name"),
    ({"match_threshold": 0.8, "review_threshold": 0.9}, "identity.review_threshold: must be below"),
    ({"blocked_values": {"email": ["(unclosed"]}}, "identity.blocked_values.email[0]: not a regular expression"),
])
def test_invalid_identity_settings_name_the_path(tmp_path, identity, message):
    with pytest.raises(ConfigError) as info:
        load_config(_config_with(tmp_path, identity))
    assert message in str(info.value)


def test_parse_identity_without_a_section_is_the_default():
    assert parse_identity(None) == IdentitySettings()
