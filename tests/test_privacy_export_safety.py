"""Exports: spreadsheet formula injection neutralised (T30), keyed pseudonyms for analysis."""

from __future__ import annotations

import csv
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from hub.privacy.export_safety import Pseudonymiser, needs_neutralising, neutralise_cell, write_csv, write_xlsx

TRIGGERS = "=+-@\t\r\0"
FULL_WIDTH = "＝＋－＠"
starts_bad = st.builds(lambda first, rest: first + rest, st.sampled_from(TRIGGERS + FULL_WIDTH + "﹦﹢﹣﹫"),
                       st.text(max_size=20))
starts_fine = st.text(min_size=0, max_size=20).filter(
    lambda s: not s or (s[0] not in TRIGGERS and unicodedata.normalize("NFKC", s[0])[:1] not in TRIGGERS))


@given(starts_bad)
def test_dangerous_cells_get_a_quote(cell):
    assert neutralise_cell(cell) == "'" + cell


@given(starts_fine)
def test_other_cells_are_unchanged(cell):
    assert neutralise_cell(cell) == cell


def test_known_payloads_and_non_strings():
    for payload in ("=cmd|'/c calc'!A1", "=HYPERLINK(\"http://x\",\"y\")", "+8613800138000", "-2+3", "@SUM(A1)",
                    "＝1+1", "\t=1", "\r=1"):
        assert neutralise_cell(payload).startswith("'")
    assert neutralise_cell(-5) == -5 and neutralise_cell(None) is None and neutralise_cell(3.5) == 3.5
    assert not needs_neutralising("张三") and not needs_neutralising("") and not needs_neutralising("'=x")


cells = st.one_of(starts_bad, starts_fine).map(lambda s: s.replace("\0", ""))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=5))
def test_csv_round_trip_modulo_the_prefix(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "export.csv"
    assert write_csv(path, ["a", "b", "c"], rows) == len(rows)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        back = list(csv.reader(handle))
    assert back[0] == ["a", "b", "c"]
    for original, read in zip(rows, back[1:], strict=True):
        for cell, value in zip(original, read, strict=True):
            if needs_neutralising(cell):
                assert value == "'" + cell
            else:
                assert value == cell


def _as_read_back(text: str) -> str:
    """What an XLSX reader returns for ``text``: control characters as U+FFFD, CR as LF (XML)."""
    text = "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else "\ufffd" for c in text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(starts_bad, starts_fine).filter(bool), min_size=2, max_size=2),
                     min_size=1, max_size=4))
def test_xlsx_cells_are_text_never_formulas(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("xlsx") / "export.xlsx"
    write_xlsx(path, ["a", "b"], rows)
    sheet = load_workbook(path).active
    for original, read in zip(rows, list(sheet.iter_rows(min_row=2)), strict=True):
        for cell, xl in zip(original, read, strict=True):
            assert xl.data_type == "s"  # a string cell, not a formula ("f")
            expected = ("'" + cell) if needs_neutralising(cell) else cell
            assert _as_read_back(xl.value) == _as_read_back(expected)
            assert not xl.value.startswith(tuple("=+-@")) and not xl.value.startswith(tuple(FULL_WIDTH))


def test_pseudonyms_are_keyed_stable_and_reveal_nothing():
    key = b"k" * 32
    one, two = Pseudonymiser(key), Pseudonymiser(key)
    assert one.pseudonym("phone", "+8613800138000") == two.pseudonym("phone", "+8613800138000")
    assert one.pseudonym("phone", "+8613800138000") != one.pseudonym("email", "+8613800138000")
    assert one.pseudonym("phone", "+8613800138000") != Pseudonymiser().pseudonym("phone", "+8613800138000")
    row = one.record({"phone": "+8613800138000", "city": "深圳", "email": ""}, {"phone": "phone", "email": "email"})
    assert row["phone"].startswith("psn_") and "13800138000" not in row["phone"]
    assert row["city"] == "深圳" and row["email"] == ""
