"""Fuzz targets shared by the atheris harnesses (fuzz/fuzz_*.py) and the CI smoke test.

Each target takes raw bytes and may only raise the documented errors: the file readers
``CorruptInputError``/``ConfigError`` (a bad file is reported, never a crash), the webhook parsers
``Refused`` (answered with a 4xx), the signature checks nothing at all (they return False), and the
mapping loader ``ConfigError``. Anything else is a finding.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from connectors.file.formats import open_file
from connectors.file.settings import file_settings
from hub.errors import ConfigError, CorruptInputError
from hub.mapping.loader import compile_mapping
from hub.server import signatures
from hub.server.http import Refused

_DIR = Path(tempfile.mkdtemp(prefix="custhub-fuzz-"))
READER_ERRORS = (CorruptInputError, ConfigError)


def file_reader(data: bytes, fmt: str) -> None:
    """Read ``data`` as a CSV, JSONL or XLSX file to the end."""
    path = _DIR / f"input.{fmt}"
    path.write_bytes(data)
    entry = {"path": str(path), "stream": "s", "format": fmt, "primary_key": ["id"]}
    try:
        (settings,) = file_settings({"files": [entry]})
        handle = open_file(settings)
        handle.validate()
        for _ in handle.rows():
            pass
    except READER_ERRORS:
        pass


def signature_checks(data: bytes) -> None:
    """The signature verifiers on arbitrary headers and bodies: a bool, never an exception."""
    text = data.decode("utf-8", errors="replace")
    head, _, body = text.partition("\n")
    raw = body.encode("utf-8", errors="surrogatepass")
    for result in (signatures.typeform_valid(b"s", raw, head), signatures.meta_valid(b"s", raw, head),
                   signatures.generic_valid(b"s", head[:12], raw, head), signatures.token_valid(b"s", head),
                   signatures.wechat_valid(b"s", head, head, body, head),
                   signatures.timestamp_fresh(head, 300)):
        assert isinstance(result, bool)
    signatures.escape_unicode(raw)


def webhook_bodies(data: bytes) -> None:
    """The providers' body parsers on a signed-but-arbitrary body (the signature check is not the target)."""
    from hub.server.providers import facebook, generic, typeform, wechat

    for parse in (facebook._leadgen_values, ):
        try:
            import orjson
            value = orjson.loads(data)
            parse(value.get("entry", []) if isinstance(value, dict) else [])
        except (ValueError, AttributeError, TypeError, Refused):
            pass
    for xml in (wechat._encrypted_field, wechat._xml_fields):
        try:
            xml(data)
        except Refused:
            pass
    del generic, typeform  # their parsing is reached through the server: tests/test_fuzz_server_openapi.py


def mapping_loader(data: bytes) -> None:
    """A mapping file's YAML text compiled: a Mapping or a ConfigError."""
    import yaml

    try:
        raw = yaml.safe_load(data.decode("utf-8", errors="replace"))
    except yaml.YAMLError:
        return
    try:
        compile_mapping(raw, _DIR / "fuzz.yaml")
    except ConfigError:
        pass


# Each fuzz target by name, as `python fuzz/run.py NAME` and fuzz/corpus/NAME/ call it.
TARGETS = {
    "csv": lambda data: file_reader(data, "csv"),
    "jsonl": lambda data: file_reader(data, "jsonl"),
    "xlsx": lambda data: file_reader(data, "xlsx"),
    "signatures": signature_checks,
    "webhooks": webhook_bodies,
    "mapping": mapping_loader,
}
