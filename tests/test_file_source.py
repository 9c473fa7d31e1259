"""The file source (connectors/file) and the in-process CDK runner it is built on."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from connectors.file import FILE_SOURCE
from hub import plugins
from hub.errors import ConfigError
from hub.protocol import (
    CheckResult,
    ConfigUpdate,
    Log,
    Record,
    State,
    StreamFailure,
    StreamSelection,
)
from hub.sources.cdk_runner import CdkSourceConnector

REPO = Path(__file__).resolve().parent.parent
CJK_ROWS = [
    ["name", "company", "city", "email"],
    ["张三丰", "华为技术有限公司", "深圳", "zhang@example.cn"],
    ["李四", "", "北京市", "li@example.cn"],
    ["Ann Smith", "Acme, Inc.", "上海", "ann@example.com"],
    ["王小明", "小米", "", ""],
]


# --- helpers ------------------------------------------------------------------------------------


def config(tmp_path: Path, path: str, **options) -> dict:
    return {"files": [{"path": path, **options}], "base_dir": str(tmp_path)}


def read(cfg: dict, stream: str, state: dict | None = None, sync_mode: str = "incremental") -> list:
    return list(FILE_SOURCE.read(cfg, [StreamSelection(stream, sync_mode)], state or {}))


def records(messages: list) -> list[dict]:
    return [m.data for m in messages if isinstance(m, Record)]


def states(messages: list) -> list[State]:
    return [m for m in messages if isinstance(m, State)]


def as_state(message: State) -> dict:
    return {message.stream: message.message}


def csv_text(rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if "," in value else value

    return "".join(",".join(cell(value) for value in row) + "\r\n" for row in rows)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_text(rows).encode(encoding))
    return path


def numbered_rows(count: int, *, blank_every: int = 0) -> str:
    lines = ["id,name,updated_at"]
    for i in range(1, count + 1):
        lines.append("" if blank_every and i % blank_every == 0 else f"{i},name {i},2024-01-{i % 28 + 1:02d}")
    return "\n".join(lines) + "\n"


def row_hash(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(canonical.encode("utf-8")).hexdigest()


# --- plugin, spec, check, discover --------------------------------------------------------------


def test_the_plugin_registers_the_file_source():
    assert plugins.source("file") is FILE_SOURCE
    assert isinstance(FILE_SOURCE, CdkSourceConnector)
    assert FILE_SOURCE.name == "file"


def test_the_spec_is_closed_and_names_every_option():
    spec = FILE_SOURCE.spec()
    assert spec["additionalProperties"] is False
    assert set(spec["properties"]) == {"files", "base_dir", "checkpoint_every"}
    file_spec = spec["properties"]["files"]["items"]
    assert file_spec["additionalProperties"] is False
    assert file_spec["required"] == ["path"]
    assert set(file_spec["properties"]) == {"path", "stream", "format", "encoding", "delimiter", "sheet",
                                           "primary_key", "cursor_field"}
    assert spec["properties"]["checkpoint_every"]["default"] == 5000


def test_check_passes_for_readable_files(tmp_path):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    assert FILE_SOURCE.check(config(tmp_path, "leads.csv")) == CheckResult(True, "")


@pytest.mark.parametrize(("files", "reason"), [
    ({"path": "missing.csv"},
     "missing.csv: file not found at {tmp}/missing.csv (check the path; a relative path starts at the "
     "config file's folder)"),
    ({"path": "folder.csv"}, "folder.csv: is a folder, not a file (name a file in it)"),
    ({"path": "empty.csv"},
     "empty.csv: the file has no header row (export it again with the column names in the first row)"),
    ({"path": "leads.txt"},
     "file source config: files[0].format: cannot tell the format of 'leads.txt' from its extension "
     "(set format: csv, jsonl or xlsx)"),
    ({"paht": "leads.csv"}, "file source config: files[0].paht: unknown key (did you mean 'path'?)"),
    ({"path": "leads.csv", "sheet": "Sheet1"},
     "file source config: files[0].sheet: 'sheet' applies to xlsx files only (remove it)"),
])
def test_check_fails_with_a_one_line_reason(tmp_path, files, reason):
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "empty.csv").write_bytes(b"")
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    result = FILE_SOURCE.check({"files": [files], "base_dir": str(tmp_path)})
    assert result == CheckResult(False, reason.format(tmp=tmp_path))


def test_two_files_cannot_share_a_stream(tmp_path):
    cfg = {"files": [{"path": "a/leads.csv"}, {"path": "b/Leads.csv"}], "base_dir": str(tmp_path)}
    with pytest.raises(ConfigError) as error:
        FILE_SOURCE.discover(cfg)
    assert str(error.value) == ("file source config: files[1].stream: stream 'leads' is also the stream of "
                                "files[0] (give one of the files its own 'stream' name)")


def test_discover_one_stream_per_file_with_its_columns(tmp_path):
    write_csv(tmp_path / "Exhibition Leads 2024.csv", CJK_ROWS)
    (tmp_path / "crm.jsonl").write_text('{"id": 1, "email": "a@b.c"}\n', encoding="utf-8")
    cfg = {"files": [{"path": "Exhibition Leads 2024.csv"},
                     {"path": "crm.jsonl", "primary_key": ["id"], "cursor_field": "email"}],
           "base_dir": str(tmp_path)}
    leads, crm = FILE_SOURCE.discover(cfg)
    assert leads.name == "exhibition_leads_2024"
    assert {k: v for k, v in leads.json_schema["properties"].items() if not k.startswith("_")} == {
        "name": {"type": "string"}, "company": {"type": "string"}, "city": {"type": "string"},
        "email": {"type": "string"}}
    assert leads.source_defined_primary_key == (("_row_hash",),)
    assert leads.default_cursor_field == ("_row",)
    assert set(leads.supported_sync_modes) == {"full_refresh", "incremental"}
    assert crm.name == "crm"
    assert crm.source_defined_primary_key == (("id",),)
    assert crm.default_cursor_field == ("email",)


# --- records ------------------------------------------------------------------------------------


def test_utf8_utf8_bom_and_gb18030_files_give_identical_records(tmp_path):
    results = {}
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        write_csv(tmp_path / f"{encoding}.csv", CJK_ROWS, encoding)
        results[encoding] = records(read(config(tmp_path, f"{encoding}.csv", stream="leads"), "leads"))
    assert results["utf-8"] == results["utf-8-sig"] == results["gb18030"]
    assert results["utf-8"][0] == {"name": "张三丰", "company": "华为技术有限公司", "city": "深圳",
                                   "email": "zhang@example.cn", "_row": 1,
                                   "_row_hash": results["gb18030"][0]["_row_hash"]}
    assert [r["_row"] for r in results["utf-8"]] == [1, 2, 3, 4]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "gb2312"])
def test_an_explicit_chinese_encoding_reads_gb18030(tmp_path, encoding):
    write_csv(tmp_path / "leads.csv", CJK_ROWS, "gb18030")
    data = records(read(config(tmp_path, "leads.csv", encoding=encoding), "leads"))
    assert data[0]["company"] == "华为技术有限公司"


def test_records_are_strings_by_header_without_empty_cells(tmp_path):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    data = records(read(config(tmp_path, "leads.csv"), "leads"))
    assert data[1] == {"name": "李四", "city": "北京市", "email": "li@example.cn", "_row": 2,
                       "_row_hash": data[1]["_row_hash"]}
    assert data[2]["company"] == "Acme, Inc."
    assert data[3] == {"name": "王小明", "company": "小米", "_row": 4, "_row_hash": data[3]["_row_hash"]}


def test_row_hash_is_the_sha1_of_the_canonical_json_without_row(tmp_path):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    for record in records(read(config(tmp_path, "leads.csv"), "leads")):
        content = {k: v for k, v in record.items() if k not in ("_row", "_row_hash")}
        assert record["_row_hash"] == row_hash(content)


def test_tsv_files_are_tab_delimited_and_blank_rows_are_skipped_but_counted(tmp_path):
    (tmp_path / "leads.tsv").write_text("name\tnote\nAnn\ta, b\n\nBob\t\n", encoding="utf-8")
    data = records(read(config(tmp_path, "leads.tsv"), "leads"))
    assert [(r["_row"], r["name"], r.get("note")) for r in data] == [(1, "Ann", "a, b"), (3, "Bob", None)]


def test_a_row_with_more_cells_than_the_header_is_marked_invalid(tmp_path):
    (tmp_path / "leads.csv").write_text("name,email\nAnn,ann@x.cn,extra,more\nBob,bob@x.cn,,\nCid\n",
                                        encoding="utf-8")
    ann, bob, cid = records(read(config(tmp_path, "leads.csv"), "leads"))
    assert ann["_invalid"] == "row has 4 cells, the header has 2"
    assert ann["_extra"] == ["extra", "more"]
    assert ann["name"] == "Ann" and ann["email"] == "ann@x.cn"
    assert "_invalid" not in bob  # trailing empty cells, as Excel writes them, are not extra data
    assert cid == {"name": "Cid", "_row": 3, "_row_hash": cid["_row_hash"]}  # fewer cells are fine


def test_header_names_are_stripped_and_made_unique(tmp_path):
    (tmp_path / "leads.csv").write_text(" name ,email,,email\nAnn,a@x.cn,x,b@x.cn\n", encoding="utf-8")
    (record,) = records(read(config(tmp_path, "leads.csv"), "leads"))
    assert {k: v for k, v in record.items() if not k.startswith("_row")} == {
        "name": "Ann", "email": "a@x.cn", "_col3": "x", "email_2": "b@x.cn"}


def test_primary_key_defaults_to_row_hash_and_a_missing_key_is_invalid(tmp_path):
    (tmp_path / "leads.csv").write_text("id,name\n7,Ann\n,Bob\n", encoding="utf-8")
    (default_stream,) = FILE_SOURCE.discover(config(tmp_path, "leads.csv"))
    assert default_stream.source_defined_primary_key == (("_row_hash",),)
    ann, bob = records(read(config(tmp_path, "leads.csv", primary_key=["id"]), "leads"))
    assert "_invalid" not in ann
    assert bob["_invalid"] == "primary key column 'id' is empty"


def test_jsonl_records_are_the_objects(tmp_path):
    (tmp_path / "crm.jsonl").write_text(
        '{"id": 1, "name": "张三", "tags": ["vip"], "address": {"city": "深圳"}}\n'
        "\n"
        '{"id": 2, "name": "Ann", "score": 4.5, "opt_in": true}\r\n', encoding="utf-8")
    first, second = records(read(config(tmp_path, "crm.jsonl"), "crm"))
    assert first == {"id": 1, "name": "张三", "tags": ["vip"], "address": {"city": "深圳"}, "_row": 1,
                     "_row_hash": row_hash({"id": 1, "name": "张三", "tags": ["vip"],
                                            "address": {"city": "深圳"}})}
    assert second["_row"] == 3 and second["score"] == 4.5 and second["opt_in"] is True


def test_xlsx_cells_become_strings_in_iso_form(tmp_path):
    import datetime as dt

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Leads"
    sheet.append(["name", "phone", "signed_up", "visited_at", "score", "vip"])
    sheet.append(["张三", 13800138000, dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 1, 9, 30), 4.5, True])
    sheet.append(["Ann", "+44 20 7946 0000", None, None, 10.0, False])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Bob", None, None, None, None, None, "surplus"])
    workbook.create_sheet("Other").append(["id"])
    workbook.save(tmp_path / "leads.xlsx")

    zhang, ann, bob = records(read(config(tmp_path, "leads.xlsx"), "leads"))
    assert zhang == {"name": "张三", "phone": "13800138000", "signed_up": "2024-05-01",
                     "visited_at": "2024-05-01T09:30:00", "score": "4.5", "vip": "true", "_row": 1,
                     "_row_hash": zhang["_row_hash"]}
    assert ann == {"name": "Ann", "phone": "+44 20 7946 0000", "score": "10", "vip": "false", "_row": 2,
                   "_row_hash": ann["_row_hash"]}
    assert bob["_row"] == 4 and bob["_invalid"] == "row has 7 cells, the header has 6"

    other = records(read(config(tmp_path, "leads.xlsx", sheet="Other", stream="other"), "other"))
    assert other == []
    assert FILE_SOURCE.check(config(tmp_path, "leads.xlsx", sheet="Nope")) == CheckResult(
        False, "leads.xlsx has no sheet 'Nope' (set sheet to one of: Leads, Other)")


# --- corrupt files ------------------------------------------------------------------------------

CSV_FIX = "(re-export the file as UTF-8 CSV)"
TRUNCATED_FIX = "(the file looks truncated: copy or export it again)"
UTF8_CJK = ("name,city\n" + "张三丰,上海\n" * 10).encode("utf-8")
GB_CJK = ("name,city\n" + "张三丰,上海\n" * 10).encode("gb18030")
LATE_BAD = numbered_rows(3000).encode() + b"3001,Zo\xff\n"


def _broken_xlsx(path: Path) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["name"])
    workbook.active.append(["Ann"])
    workbook.save(path)
    data = path.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("bytes.csv", b"name,city\nAnn,Paris\nBob,\xff\xfeville\n",
     f"bytes.csv: not valid UTF-8 or GB18030 text at line 3, byte 24 {CSV_FIX}"),
    ("late.csv", LATE_BAD,
     f"late.csv: not valid UTF-8 or GB18030 text at line 3002, byte {len(LATE_BAD) - 2} {CSV_FIX}"),
    ("damaged_utf8.csv", UTF8_CJK + b"\xe5\xbc\xa0\xff\xbc\n",
     f"damaged_utf8.csv: not valid UTF-8 text at line 12, byte {len(UTF8_CJK) + 3} {CSV_FIX}"),
    ("cut_utf8.csv", UTF8_CJK[:-2],
     f"cut_utf8.csv: ends in the middle of a UTF-8 character at line 11, byte {len(UTF8_CJK) - 4} "
     f"{TRUNCATED_FIX}"),
    ("cut_gb.csv", GB_CJK[:-2],
     f"cut_gb.csv: ends in the middle of a GB18030 character at line 11, byte {len(GB_CJK) - 3} "
     f"{TRUNCATED_FIX}"),
    ("quote.csv", b'name,note\nAnn,"fine"\nBob,"never closed\nCid,x\n',
     "quote.csv: the quote opened on line 3 is never closed (close it or re-export the file as CSV)"),
    ("multiline.csv", b'name,note\nAnn,"two\nlines"\nBob,x,"open\n',
     "multiline.csv: the quote opened on line 4 is never closed (close it or re-export the file as CSV)"),
    ("json.jsonl", b'{"name": "Ann"}\n\n{"name": "Bob"\n',
     "json.jsonl: line 3, column 15: invalid JSON: unexpected end of data "
     "(fix the line or export the file again)"),
    ("array.jsonl", b'{"name": "Ann"}\n["Bob"]\n',
     "array.jsonl: line 2 holds a JSON array, not an object (put one JSON object on each line)"),
    ("zip.xlsx", _broken_xlsx,
     "zip.xlsx: not a readable XLSX workbook, its ZIP container is broken: File is not a zip file "
     "(open it in Excel and save it again as .xlsx)"),
])
def test_a_corrupt_file_is_refused_before_any_record(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content(path) if callable(content) else content)
    stream = name.split(".")[0]
    messages = read(config(tmp_path, name), stream)
    assert records(messages) == []
    assert states(messages) == []
    assert [m for m in messages if isinstance(m, StreamFailure)] == [
        StreamFailure(stream, reason, "config_error")]


def test_an_unknown_stream_is_a_config_failure(tmp_path):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    reason = "source 'file' has no stream 'lead' (check the stream names of the connection)"
    assert read(config(tmp_path, "leads.csv"), "lead") == [StreamFailure("lead", reason, "config_error")]


def test_a_corrupt_file_fails_only_its_own_stream(tmp_path):
    write_csv(tmp_path / "good.csv", CJK_ROWS)
    (tmp_path / "bad.csv").write_bytes(b"name\n\xff\n")
    cfg = {"files": [{"path": "bad.csv"}, {"path": "good.csv"}], "base_dir": str(tmp_path)}
    messages = list(FILE_SOURCE.read(cfg, [StreamSelection("bad"), StreamSelection("good")], {}))
    assert [m.stream for m in messages if isinstance(m, StreamFailure)] == ["bad"]
    assert len(records(messages)) == 4


# --- state --------------------------------------------------------------------------------------


def test_states_every_checkpoint_and_at_the_end(tmp_path):
    (tmp_path / "leads.csv").write_text(numbered_rows(12), encoding="utf-8")
    messages = read(config(tmp_path, "leads.csv") | {"checkpoint_every": 5}, "leads")
    blobs = [m.message["stream"]["stream_state"] for m in states(messages)]
    assert [(b["offset"], b["done"]) for b in blobs] == [(5, False), (10, False), (12, True)]
    stat = (tmp_path / "leads.csv").stat()
    assert blobs[-1] == {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size, "offset": 12, "done": True}
    assert [type(m).__name__ for m in messages[4:6]] == ["Record", "State"]  # state follows its records


def test_resuming_from_any_state_gives_exactly_the_remaining_rows(tmp_path):
    (tmp_path / "leads.csv").write_text(numbered_rows(23, blank_every=7), encoding="utf-8")
    cfg = config(tmp_path, "leads.csv") | {"checkpoint_every": 4}
    full = read(cfg, "leads")
    all_rows = [r["_row"] for r in records(full)]
    assert len(all_rows) == 20 and len(states(full)) == 6
    seen = 0
    for message in full:
        if isinstance(message, Record):
            seen += 1
        elif isinstance(message, State):
            resumed = read(cfg, "leads", as_state(message))
            assert [r["_row"] for r in records(resumed)] == all_rows[seen:]
            assert states(resumed)[-1].message == states(full)[-1].message


def test_an_unchanged_file_emits_only_its_state(tmp_path):
    (tmp_path / "leads.csv").write_text(numbered_rows(10), encoding="utf-8")
    cfg = config(tmp_path, "leads.csv")
    final = states(read(cfg, "leads"))[-1]
    again = read(cfg, "leads", as_state(final))
    assert again == [final]


def test_a_changed_file_is_read_again_from_the_top(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(numbered_rows(10), encoding="utf-8")
    cfg = config(tmp_path, "leads.csv")
    final = states(read(cfg, "leads"))[-1]
    path.write_text(numbered_rows(12), encoding="utf-8")
    assert [r["_row"] for r in records(read(cfg, "leads", as_state(final)))] == list(range(1, 13))


def test_full_refresh_ignores_the_state(tmp_path):
    (tmp_path / "leads.csv").write_text(numbered_rows(10), encoding="utf-8")
    cfg = config(tmp_path, "leads.csv")
    final = states(read(cfg, "leads"))[-1]
    assert len(records(read(cfg, "leads", as_state(final), sync_mode="full_refresh"))) == 10


def _touch(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_cursor_field_reads_only_newer_rows_of_a_changed_file(tmp_path):
    path = tmp_path / "leads.csv"
    _touch(path, "id,updated_at\n1,2024-01-01\n2, 2024-01-05 \n3,2024-01-03\n")
    cfg = config(tmp_path, "leads.csv", cursor_field="updated_at") | {"checkpoint_every": 2}
    first = read(cfg, "leads")
    assert len(records(first)) == 3
    assert states(first)[-1].message["stream"]["stream_state"]["cursor"] == "2024-01-05"

    _touch(path, "id,updated_at\n1,2024-01-01\n2,2024-01-05\n3,2024-01-06\n4,2024-01-02\n5,\n"
                 "6,2024-01-07\n7,2024-01-08\n")
    second = read(cfg, "leads", as_state(states(first)[-1]))
    assert [r["id"] for r in records(second)] == ["3", "5", "6", "7"]  # newer, or without a value
    final = states(second)[-1].message["stream"]["stream_state"]
    assert final["cursor"] == "2024-01-08" and final["done"] is True

    # A crash half-way through the second pass resumes with the same filter.
    for message in states(second)[:-1]:
        offset = message.message["stream"]["stream_state"]["offset"]
        resumed = read(cfg, "leads", as_state(message))
        assert [r["id"] for r in records(resumed)] == [r["id"] for r in records(second)
                                                        if r["_row"] > offset]


# --- the runner's hygiene -----------------------------------------------------------------------


def test_a_read_leaves_root_logging_and_excepthook_as_they_were(tmp_path, capsys):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    handlers, level, hook = list(logging.getLogger().handlers), logging.getLogger().level, sys.excepthook
    assert len(records(read(config(tmp_path, "leads.csv"), "leads"))) == 4
    assert logging.getLogger().handlers == handlers
    assert logging.getLogger().level == level
    assert sys.excepthook is hook
    assert '"type"' not in capsys.readouterr().out


def test_a_fresh_process_keeps_its_logging_and_stdout_after_importing_the_cdk(tmp_path):
    write_csv(tmp_path / "leads.csv", CJK_ROWS)
    script = textwrap.dedent(f"""
        import logging, sys
        sys._called_from_test = True
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="host %(message)s")
        logging.getLogger().addHandler(logging.FileHandler({str(tmp_path / "host.log")!r}, mode="w"))
        before = (list(logging.getLogger().handlers), logging.getLogger().level, sys.excepthook)
        assert "airbyte_cdk" not in sys.modules
        from connectors.file import FILE_SOURCE
        from hub.protocol import StreamSelection
        assert "airbyte_cdk" not in sys.modules, "importing the plugin must not import the CDK"
        cfg = {{"files": [{{"path": "leads.csv"}}], "base_dir": {str(tmp_path)!r}}}
        count = sum(1 for _ in FILE_SOURCE.read(cfg, [StreamSelection("leads")], {{}}))
        after = (list(logging.getLogger().handlers), logging.getLogger().level, sys.excepthook)
        assert before == after, (before, after)
        logging.getLogger("custhub").warning("after the read")
        print("records", count)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "records 5\n"  # 4 records and 1 state: nothing else reached stdout
    assert "host after the read" in done.stderr
    assert (tmp_path / "host.log").read_text() == "after the read\n"  # the CDK import closed no handler


def _toy_connector(read_records):
    """A CDK source with one stream whose records come from ``read_records()``."""
    from airbyte_cdk.sources import AbstractSource
    from airbyte_cdk.sources.streams import Stream

    class ToyStream(Stream):
        primary_key = None
        name = "toy"

        def get_json_schema(self):
            return {"type": "object"}

        def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None):
            yield from read_records()

    class ToySource(AbstractSource):
        def check_connection(self, logger, config):
            return True, None

        def streams(self, config):
            return [ToyStream()]

    return CdkSourceConnector("toy", "a toy", {"type": "object"}, lambda config, catalog, state: ToySource())


def test_a_config_rotated_by_the_source_becomes_a_config_update(capsys):
    from airbyte_cdk.config_observation import emit_configuration_as_airbyte_control_message

    def rows():
        yield {"n": 1}
        emit_configuration_as_airbyte_control_message({"refresh_token": "rotated"})
        print("a stray line")
        yield {"n": 2}
        # The concurrent CDK refreshes tokens on its worker threads.
        worker = threading.Thread(
            target=emit_configuration_as_airbyte_control_message, args=({"refresh_token": "again"},))
        worker.start()
        worker.join()
        yield {"n": 3}

    stdout = sys.stdout
    messages = []
    for message in _toy_connector(rows).read({}, [StreamSelection("toy", "full_refresh")], {}):
        print("printed by the hub")  # the consumer's own output is not captured
        messages.append(message)
    kinds = [m for m in messages if isinstance(m, Record | ConfigUpdate | Log)]
    assert kinds == [Record("toy", {"n": 1}), ConfigUpdate({"refresh_token": "rotated"}),
                     Log("INFO", "a stray line"), Record("toy", {"n": 2}),
                     ConfigUpdate({"refresh_token": "again"}), Record("toy", {"n": 3})]
    out = capsys.readouterr().out
    assert "rotated" not in out and "again" not in out and "a stray line" not in out
    assert out.count("printed by the hub") == len(messages)
    assert sys.stdout is stdout


def test_concurrent_reads_each_get_their_own_config_updates():
    from airbyte_cdk.config_observation import emit_configuration_as_airbyte_control_message

    both_inside = threading.Barrier(2, timeout=30)

    def rows_for(token):
        def rows():
            both_inside.wait()
            emit_configuration_as_airbyte_control_message({"token": token})
            both_inside.wait()
            yield {"token": token}
        return rows

    stdout = sys.stdout
    results: dict[str, list] = {}

    def run(token):
        connector = _toy_connector(rows_for(token))
        results[token] = list(connector.read({}, [StreamSelection("toy", "full_refresh")], {}))

    threads = [threading.Thread(target=run, args=(token,)) for token in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for token in ("a", "b"):
        assert [m for m in results[token] if isinstance(m, ConfigUpdate)] == [ConfigUpdate({"token": token})]
    assert sys.stdout is stdout


def test_a_failing_stream_becomes_one_stream_failure(capsys):
    def rows():
        yield {"n": 1}
        raise ValueError("page 2 came back empty")

    messages = list(_toy_connector(rows).read({}, [StreamSelection("toy", "full_refresh")], {}))
    assert records(messages) == [{"n": 1}]
    assert [m for m in messages if isinstance(m, StreamFailure)] == [
        StreamFailure("toy", "page 2 came back empty", "system_error")]
    assert "page 2" not in capsys.readouterr().out


# --- scale --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_for_a_million_rows(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as file:
        file.write("id,name,email,city\n")
        for i in range(1_000_000):
            file.write(f"{i},姓名{i},user{i}@example.com,上海\n")
    script = textwrap.dedent(f"""
        import resource, sys
        sys._called_from_test = True
        from connectors.file import FILE_SOURCE
        from hub.protocol import Record, StreamSelection
        cfg = {{"files": [{{"path": {str(path)!r}}}]}}
        count = sum(isinstance(m, Record) for m in FILE_SOURCE.read(cfg, [StreamSelection("big")], {{}}))
        print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    count, max_rss_mb = map(int, done.stdout.split())
    assert count == 1_000_000
    assert max_rss_mb < 200, f"peak RSS {max_rss_mb} MB for a {path.stat().st_size // 2**20} MB file"
