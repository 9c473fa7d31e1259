"""The server section fails closed, and the inbox source behaves like every source: spec, check,
discover, incremental read that resumes exactly from every state it emitted."""

from __future__ import annotations

import pytest
import yaml

from connectors.inbox import INBOX_SOURCE
from hub import plugins
from hub.config import load_config
from hub.errors import ConfigError
from hub.inbox import InboxEvent, record_events
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.protocol import Record, State, StreamSelection
from hub.server import server_settings
from hub.store import Store
from tests.helpers import run_cli
from tests.webhook_support import FORMS, SECRETS, write_config


@pytest.fixture
def env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def config_with_forms(tmp_path, forms) -> object:
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    data = yaml.safe_load(path.read_text("utf-8"))
    data["server"]["forms"] = forms
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


@pytest.mark.parametrize(("form", "error"), [
    ({"provider": "typeform"}, "server.forms.f: a typeform form needs 'secret'"),
    ({"provider": "facebook", "app_secret": {"$env": "FB_APP_SECRET"}},
     "server.forms.f: a facebook form needs 'verify_token'"),
    ({"provider": "generic"}, "server.forms.f: a generic form needs 'secret or token'"),
    ({"provider": "wechat", "token": {"$env": "WECHAT_TOKEN"}, "encoding_aes_key": {"$env": "WECHAT_AES_KEY"}},
     "server.forms.f: a wechat form needs 'app_id'"),
    ({"provider": "wechat", "token": {"$env": "WECHAT_TOKEN"}, "encoding_aes_key": {"$env": "TF_SECRET"},
      "app_id": "wx1"}, "server.forms.f.encoding_aes_key: EncodingAESKey must be 43 characters of base64"),
    ({"provider": "typeform", "secret": {"$env": "NOT_SET_ANYWHERE"}},
     "server.forms.f.secret: environment variable NOT_SET_ANYWHERE is not set"),
    ({"provider": "typeform", "secret": {"$env": "TF_SECRET"}, "honeypot": "x"},
     "server.forms.f.honeypot: 'honeypot' applies to generic forms only"),
])
def test_forms_without_their_secrets_are_config_errors(env, tmp_path, form, error):
    path = config_with_forms(tmp_path, {"f": form})
    with pytest.raises(ConfigError) as raised:
        server_settings(load_config(path))
    assert error in str(raised.value)


@pytest.mark.parametrize(("form", "error"), [
    ({"provider": "typeform", "secret": "inline-secret"}, "server.forms.f.secret"),
    ({"provider": "surveymonkey", "secret": {"$env": "TF_SECRET"}}, "server.forms.f.provider"),
    ({"provider": "typeform", "secret": {"$env": "TF_SECRET"}, "secrett": 1}, "secrett"),
])
def test_server_section_is_validated_with_the_config(env, tmp_path, form, error):
    path = config_with_forms(tmp_path, {"f": form})
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert error in str(raised.value) and "inline-secret" not in str(raised.value)


def test_serve_refuses_to_start_without_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_SECRET", raising=False)
    path = config_with_forms(tmp_path, {"survey": FORMS["survey"]})
    assert run_cli("--config", str(path), "serve") == 2


def test_inbox_is_a_registered_plugin():
    assert plugins.source("inbox") is INBOX_SOURCE
    spec = INBOX_SOURCE.spec()
    assert spec["properties"]["facebook"]["properties"]["access_token"]["airbyte_secret"] is True


def test_inbox_source_conformance(env, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'c.db'}"
    path = write_config(tmp_path, store_url)
    store = Store.open(store_url)
    ensure_active(store.engine, PrivacySettings(), tmp_path)  # the store's keys seal the payloads
    with store.transaction() as conn:
        record_events(conn, [InboxEvent("generic", "contact", f"contact:{n}", {"email": f"{n}@example.com"})
                             for n in range(7)])
        record_events(conn, [InboxEvent("typeform", "survey", "t1", {"form_response": {"answers": []}})])
    store.close()
    config = {"store_url": store_url, "config_file": str(path), "batch_size": 3}

    assert INBOX_SOURCE.check(config).ok
    assert not INBOX_SOURCE.check({"store_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}).ok
    streams = {s.name: s for s in INBOX_SOURCE.discover(config)}
    assert set(streams) == {"typeform.survey", "facebook.leads", "jotform.expo", "generic.contact",
                            "generic.newsletter", "wechat.h5"}  # configured forms exist before their first event
    assert streams["generic.contact"].source_defined_primary_key == (("event_id",),)

    selection = [StreamSelection("generic.contact")]
    messages = list(INBOX_SOURCE.read(config, selection, {}))
    records = [m.data["event_id"] for m in messages if isinstance(m, Record)]
    states = [m for m in messages if isinstance(m, State)]
    assert records == [f"contact:{n}" for n in range(7)]
    assert len(states) >= 3  # every batch of 3 and the end
    for state in states:  # resume from every checkpoint: exactly the records after it
        last_id = state.message["stream"]["stream_state"]["last_id"]
        again = [m.data for m in INBOX_SOURCE.read(config, selection, {"generic.contact": state.message})
                 if isinstance(m, Record)]
        assert [r["inbox_id"] for r in again] == [n for n in range(1, 8) if n > last_id]
    assert [m for m in INBOX_SOURCE.read(config, selection, {"generic.contact": states[-1].message})
            if isinstance(m, Record)] == []
    first = next(m.data for m in messages if isinstance(m, Record))
    assert first["fields"] == {"email": "0@example.com"} and first["provider"] == "generic"
