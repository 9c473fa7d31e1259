"""Run every compiled module's work over many records and print it, for tests/test_native.py.

``python -m tests.native_probe`` maps and cleans: the bundled sample files with their mappings,
generated exhibition sign-ups (every 25th one bad), and, for every mapping in mappings/, records
whose fields hold awkward values of every JSON type. It prints one JSON document holding every
outcome, so the compiled and the source builds of ``hub.native.NATIVE_MODULES`` can be compared.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import yaml

from bench.datagen import HEADER, rows
from connectors.file.formats import open_file
from connectors.file.keyed import keyed_rows
from connectors.file.settings import file_settings
from hub import native
from hub.cleaning import Cleaner
from hub.cleaning.emails import normalize_email
from hub.cleaning.phones import to_e164
from hub.cleaning.text import clean_text
from hub.ingest.processor import StreamProcessor
from hub.mapping import load_mapping

REPO = Path(__file__).resolve().parent.parent
AWKWARD_TEXT = ["", " ", "\u3000", "张伟先生", "Ｗａｎｇ　Ｗｅｉ", "Dr. Li Na", "\u200b李\u200d娜", "王", "先生", "Mr.",
                "+86 138 0013 8000", "０１３８００１３８０００", "010-6552 9988转123", "12345", "+1 650 253 0000",
                " USER@Example.COM ", "<mailto:a.b@qq.com>", "a@@b.com", "a@ｂ.com", "用户@例子.中国",
                "2026-03-18 09:30", "2026-03-18T09:30:00Z", "18/03/2026", "是", "否", "yes", "男", "女", "CN",
                "中国", "zh-CN", "x" * 300]
AWKWARD_OTHER: list[Any] = [None, 0, 7, -1.5, True, False, [], {}, ["a", None, " "], {"k": "v"}, [{"a": 1}], {"": None},
                            {1: "a", "b": None}, [{"x": {2: "y"}}]]
ODD_RECORDS: list[Any] = [None, [], "text", 5, {"id": 1},
                          {1: "x", "person": {2: "y", "name": {3: "z", "full": "王伟"}}},
                          {"person": {"emails": [{"address": " A@B.CN ", 4: "x"}],
                                      "phones": [{5: 1, "number": "+86 138 0013 8000"}]}},
                          {"organization": {"key_contacts": [{"phone": "12345", 6: None}]}, "interactions": [{7: "x"}]}]


def _strings(node: Any) -> list[str]:
    """Every string in a mapping file: its source field names are among them."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _outcome(mapping: Any, cleaner: Cleaner, raw: Any) -> Any:
    """What ingest makes of ``raw``: (stage, reasons, cleaned record)."""
    processor = StreamProcessor("probe", "stream", mapping, cleaner, (("id",),), "digest")
    return processor.canonicalise(raw, "pk-1", "2026-11-24T00:00:00+00:00")


def _cleaned_or_error(cleaner: Cleaner, record: Any) -> Any:
    try:
        return cleaner.clean(record)
    except Exception as error:  # the two builds must fail alike, too
        return f"{type(error).__name__}: {error}"


def sample_outcomes(cleaner: Cleaner) -> list[Any]:
    config = yaml.safe_load((REPO / "config" / "custhub.example.yaml").read_text("utf-8"))
    out = []
    for connection in config["connections"].values():
        if connection["source"] != "file":
            continue
        files = file_settings({**connection["config"], "base_dir": str(REPO / "config")})
        for settings in files:
            mapping = load_mapping(REPO / "mappings" / f"{connection['streams'][settings.stream]['mapping']}.yaml")
            state: dict[str, Any] = {"cursor": None, "since": None}
            for data in keyed_rows(open_file(settings).rows(), state, settings.primary_key, settings.cursor_field):
                out.append([data, _outcome(mapping, cleaner, data)])
            out.append(state)
    return out


def generated_outcomes(cleaner: Cleaner, count: int) -> list[Any]:
    mapping = load_mapping(REPO / "mappings" / "exhibition_signup.yaml")
    generated = rows(count, seed=11, bad_every=25)
    return [_outcome(mapping, cleaner, dict(zip(HEADER, row, strict=True))) for row in generated]


def awkward_outcomes(cleaner: Cleaner, per_mapping: int) -> list[Any]:
    rng = random.Random(5)
    values = [*AWKWARD_TEXT, *AWKWARD_OTHER]
    out = []
    for path in sorted((REPO / "mappings").glob("*.yaml")):
        fields = sorted(set(_strings(yaml.safe_load(path.read_text("utf-8")))))
        mapping = load_mapping(path)
        for _ in range(per_mapping):
            raw = {field: rng.choice(values) for field in fields if rng.random() < 0.6}
            out.append([path.stem, _outcome(mapping, cleaner, raw)])
    return out


def main() -> None:
    cleaner = Cleaner(default_region="CN")
    result = {
        "samples": sample_outcomes(cleaner),
        "generated": generated_outcomes(cleaner, 2000),
        "awkward": awkward_outcomes(cleaner, 150),
        "text": [[clean_text(t), to_e164(clean_text(t), "CN"), to_e164(clean_text(t), "US"),
                  normalize_email(clean_text(t))] for t in AWKWARD_TEXT],
    }
    processor = StreamProcessor("probe", "stream", load_mapping(REPO / "mappings" / "webform_contact.yaml"),
                                cleaner, (("id",),), "digest")
    result["odd"] = [[processor.source_pk(raw), _cleaned_or_error(cleaner, raw)] for raw in ODD_RECORDS]
    result["builds"] = native.loaded_builds()  # after the work: every module of the list is loaded by now
    json.dump(_plain(result), sys.stdout, ensure_ascii=False, sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    """``value`` with every key as text naming its type, so that odd keys survive JSON unchanged."""
    if isinstance(value, dict):
        return {key if isinstance(key, str) else f"{type(key).__name__}:{key}": _plain(item)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


if __name__ == "__main__":
    main()
