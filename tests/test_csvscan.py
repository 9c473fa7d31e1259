"""A CSV file without quotes or long lines is vouched for without parsing (connectors.file.csvscan),
and the whole-file check before a read refuses exactly what the parser refuses."""

from __future__ import annotations

import csv
import random

import pytest

from connectors.file.csvscan import plainly_parseable
from connectors.file.formats import open_file
from connectors.file.settings import file_settings
from hub.errors import CorruptInputError

LIMIT = 64  # csv.field_size_limit() for these tests: windows of 32 bytes


@pytest.fixture
def small_limit():
    before = csv.field_size_limit(LIMIT)
    yield
    csv.field_size_limit(before)


def write(tmp_path, data: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return path


def csv_file(path):
    return open_file(file_settings({"files": [{"path": str(path), "stream": "f", "primary_key": ["id"]}]})[0])


def parser_refuses(path) -> bool:
    with open(path, encoding="utf-8", newline="") as text:
        try:
            for _ in csv.reader(text):
                pass
        except csv.Error:
            return True
    return False


def test_short_unquoted_lines_are_plain(tmp_path, small_limit):
    assert plainly_parseable(write(tmp_path, b"id,name\n" + b"1,abcdefghijklmnopqrstuvwxyz12\n" * 50))
    assert plainly_parseable(write(tmp_path, b"id,name\n1,x"))  # no final line break
    assert plainly_parseable(write(tmp_path, b""))
    assert plainly_parseable(write(tmp_path, "id,姓名\n1,王小明\n".encode("gb18030") * 40))


@pytest.mark.parametrize("where", [0, 17, -1])
def test_a_quote_anywhere_means_parse(tmp_path, small_limit, where):
    data = bytearray(b"id,name\n" + b"1,ab\n" * 30)
    data[where] = ord('"')
    assert not plainly_parseable(write(tmp_path, bytes(data)))


@pytest.mark.parametrize("offset", range(0, 70, 3))
def test_a_line_as_long_as_the_limit_means_parse_wherever_it_starts(tmp_path, small_limit, offset):
    data = b"x" * offset + b"\n" + b"y" * LIMIT + b"\n" + b"1,2\n" * 20
    assert not plainly_parseable(write(tmp_path, data))
    assert not plainly_parseable(write(tmp_path, b"x" * offset + b"\n" + b"y" * LIMIT))  # at the end


def test_the_check_refuses_what_the_parser_refuses(tmp_path, small_limit):
    rng = random.Random(11)
    refused = 0
    for _ in range(300):
        lines = ["id,name"] + [f"{n},{'z' * rng.choice([1, 5, 30, 40, 63, 64, 90])}" for n in range(rng.randint(1, 8))]
        path = write(tmp_path, ("\n".join(lines) + rng.choice(["", "\n"])).encode())
        expected = parser_refuses(path)
        try:
            csv_file(path).validate()
            got = False
        except CorruptInputError as error:
            assert f"a field runs past {LIMIT} characters" in str(error)
            got = True
        assert got == expected, lines
        refused += got
    assert 0 < refused < 300


def test_a_long_unquoted_field_is_refused_with_the_real_limit(tmp_path):
    path = write(tmp_path, b"id,note\n1," + b"n" * (csv.field_size_limit() + 10) + b"\n2,ok\n")
    with pytest.raises(CorruptInputError, match=r"f\.csv: line 2: a field runs past 131072 characters"):
        csv_file(path).validate()
