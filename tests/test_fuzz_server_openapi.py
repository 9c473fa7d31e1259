"""Schema-driven fuzzing of the webhook server with schemathesis, from its own ``/openapi.json``.

Every operation of the document (one per configured form, the handshakes and ``/healthz``) gets
generated requests: random bodies, content types, headers and path tokens. Checks: no 500 (an
unhandled exception), every status is one the document lists, every response matches its schema,
and no request hangs (each call is bounded). Example counts stay small for CI.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from hub.cli.common import open_store  # noqa: E402
from hub.config import load_config  # noqa: E402
from hub.server import build_app, server_settings  # noqa: E402
from hub.server.openapi import openapi_document  # noqa: E402
from tests.webhook_support import SECRETS, write_config  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for key, value in SECRETS.items():
        mp.setenv(key, value)
    tmp_path = tmp_path_factory.mktemp("openapi")
    cfg = load_config(write_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}"))
    store = open_store(cfg)
    yield build_app(server_settings(cfg), store)
    store.close()
    mp.undo()


def operations(app):
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in api.get_all_operations()]


def test_no_server_error_and_only_documented_answers(app):
    """Each operation's strategy drives hypothesis; ``validate_response`` runs schemathesis' checks
    (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)."""
    ops = operations(app)
    assert len(ops) >= 8
    seen = 0
    for operation in ops:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            nonlocal seen
            response = case.call(timeout=5)
            case.validate_response(response)
            seen += 1
        fuzz()
    assert seen >= 100


def test_the_document_lists_every_form(app, tmp_path):
    from starlette.testclient import TestClient

    document = TestClient(app).get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    assert {"/healthz", "/hooks/typeform/survey", "/hooks/facebook/leads", "/hooks/jotform/expo",
            "/hooks/generic/contact", "/hooks/wechat/h5", "/hooks/jotform/expo/{token}"} <= paths
    assert "get" in document["paths"]["/hooks/facebook/leads"]  # the subscription handshake
    text = str(document)
    assert not any(secret in text for secret in SECRETS.values())  # names only, never a secret


def test_document_is_built_from_settings_only():
    from hub.server.settings import FormSettings, ServerSettings

    doc = openapi_document(ServerSettings(forms={"f": FormSettings("f", "typeform")}))
    assert set(doc["paths"]) == {"/healthz", "/hooks/typeform/f"}
