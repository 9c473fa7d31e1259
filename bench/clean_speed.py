"""How long the cleaning step takes per typical record, and which part costs what.

    python bench/clean_speed.py [records]

Typical record: a Han or Latin name, one phone, one e-mail, employer, title, city, one interaction
and provenance; every record has its own phone and e-mail, so no cache can help.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hub.cleaning.record as cleaning_record  # noqa: E402
from hub.canonical import schema_errors  # noqa: E402
from hub.cleaning import Cleaner  # noqa: E402

HAN = ("张伟", "王 芳", "欧阳娜娜", "李先生", "刘洋")
LATIN = ("Ada Lovelace", "JOHN SMITH", "Mr. Alan Turing", "grace hopper", "Mary McDonald")


def typical_records(count: int) -> list[dict[str, Any]]:
    records = []
    for i in range(count):
        han = i % 2 == 0
        records.append({
            "schema_version": "1.0",
            "provenance": {"connection": "crm", "stream": "contacts", "source_pk": str(i),
                           "read_at": "2026-01-01T00:00:00Z"},
            "person": {
                "name": {"full": (HAN if han else LATIN)[i % 5]},
                "phones": [{"number": f"138 {i % 10000:04d} {i // 10000 % 10000:04d}", "kind": "mobile"}],
                "emails": [{"address": f"User{i}@Example.com ", "kind": "work"}],
                "employer": "北京某某科技有限公司" if han else "Acme Ltd",
                "title": "销售经理" if han else "Sales Manager",
                "addresses": [{"city": "北京" if han else "London", "country": "cn" if han else "GB"}],
            },
            "interactions": [{"type": "form_submitted", "at": "2026-01-01T00:00:00Z",
                              "name": "Spring webinar", "details": {"utm_source": "wechat"}}],
        })
    return records


def per_call_us(function: Callable[[Any], Any], items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    records = typical_records(count)
    cleaner = Cleaner()
    cleaned = [cleaner.clean(record)[0] for record in records[:1000]]  # warm up
    assert all(not cleaner.clean(record)[1] for record in records[:1000])

    full = per_call_us(cleaner.clean, records)
    real_schema_errors = cleaning_record.schema_errors
    cleaning_record.schema_errors = lambda record: []
    try:
        without_schema = per_call_us(cleaner.clean, records)
    finally:
        cleaning_record.schema_errors = real_schema_errors
    validation = per_call_us(schema_errors, cleaned)
    numbers = [record["person"]["phones"][0]["number"] for record in records]
    parse = per_call_us(lambda number: phonenumbers.parse(number, "CN"), numbers)

    print(f"records: {count}")
    print(f"Cleaner.clean, total:                  {full:7.1f} µs/record")
    print(f"  normalising only (schema check off): {without_schema:7.1f} µs/record")
    print(f"  hub.canonical.schema_errors alone:   {validation:7.1f} µs/record")
    print(f"phonenumbers.parse alone (reference):  {parse:7.1f} µs/number")
    print(f"throughput of this step alone:         {1e6 / full:7.0f} records/s per core")


if __name__ == "__main__":
    main()
