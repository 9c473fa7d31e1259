"""Sealing's fast paths give what the plain ones gave: JSON bytes, and nonces that never repeat."""

from __future__ import annotations

import base64
import os
import random
import threading

import orjson
import pytest

from bench.datagen import HEADER, rows
from hub.cleaning import Cleaner
from hub.ingest.processor import StreamProcessor, json_bytes
from hub.mapping import load_mapping
from hub.privacy.crypto import NoncePool, _b64decode, _b64encode
from hub.privacy.errors import CiphertextError
from tests.helpers import REPO

GENERAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def test_json_bytes_are_the_general_encoding_of_raw_and_canonical_records():
    processor = StreamProcessor("c", "s", load_mapping(REPO / "mappings" / "exhibition_signup.yaml"),
                                Cleaner("CN"), (("序号",),), "digest")
    checked = 0
    for row in rows(3000, seed=3, bad_every=40):
        raw = dict(zip(HEADER, row, strict=True))
        assert json_bytes(raw) == orjson.dumps(raw, option=GENERAL)
        stage, reasons, canonical = processor.canonicalise(raw, row[0], "2026-11-24T00:00:00+00:00")
        if not reasons:
            assert json_bytes(canonical) == orjson.dumps(canonical, option=GENERAL)
            checked += 1
    assert checked > 2900


def test_json_bytes_take_the_general_path_for_other_keys():
    for value in ({1: "a", "b": 2}, {"x": {None: 1}}, {"a": [{2.5: True}]}):
        assert json_bytes(value) == orjson.dumps(value, option=GENERAL)


def test_b64encode_is_unpadded_base64url_at_every_length():
    rng = random.Random(5)
    for size in [*range(70), 767, 768, 769, 4096]:
        for data in (rng.randbytes(size), b"\xfb\xff" * (size // 2), b"\x00" * size):  # '-', '_', 'A'
            encoded = _b64encode(data)
            assert encoded == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
            assert _b64decode(encoded) == data


def test_nonces_are_unique_across_blocks_and_threads():
    pool = NoncePool()
    taken: list[bytes] = []

    def take(count: int) -> None:
        local = [pool.take() for _ in range(count)]
        taken.extend(local)

    threads = [threading.Thread(target=take, args=(3 * NoncePool.BLOCK,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 18 * NoncePool.BLOCK
    assert all(len(nonce) == 12 for nonce in taken)
    assert len(set(taken)) == len(taken)


def test_a_forked_child_does_not_reuse_its_parents_nonces():
    pool = NoncePool()
    pool.take()  # the pool holds a block now: a child that kept it would hand out the parent's nonces
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write_end, b"".join(pool.take() for _ in range(100)))
        finally:
            os._exit(0)
    os.close(write_end)
    received = b""
    while chunk := os.read(read_end, 65536):
        received += chunk
    os.close(read_end)
    os.waitpid(child, 0)
    child_nonces = {received[i:i + 12] for i in range(0, len(received), 12)}
    parent_nonces = {pool.take() for _ in range(100)}
    assert len(child_nonces) == 100
    assert not child_nonces & parent_nonces


def test_sealed_records_open_at_their_location_whatever_the_key(tmp_path):
    """``Sealing.seal_record`` builds the row key's AAD itself; the readers use ``location_aad``."""
    from hub.config import PrivacySettings
    from hub.ingest.processor import Sealing
    from hub.privacy import runtime
    from hub.store import Store, records

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    runtime.deactivate()
    runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    try:
        for connection, stream in (("expo", "signups"), ('连"接', "s\\t\n"), ("c", "")):
            sealing = Sealing(connection, stream, "digest")
            for pk in ("1", "", "王小明|13800000000", 'a"b\\c', "</script>", "\x00\x1f", "😀", "  x "):
                raw, canonical = sealing.seal_record(pk, b'{"a":1}', '{"b":"二"}')
                assert records.open_raw(connection, stream, pk, raw) == {"a": 1}
                assert records.open_canonical(connection, stream, pk, canonical) == {"b": "二"}
                other = pk + "x"
                with pytest.raises(CiphertextError):
                    records.open_raw(connection, stream, other, raw)
    finally:
        runtime.deactivate()
        store.engine.dispose()
