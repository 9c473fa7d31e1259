"""Signature checks against known vectors, and a static check that every signature, token and MAC
comparison in the server goes through ``hmac.compare_digest`` (test matrix rows T13, T14)."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import time
from pathlib import Path

import pytest

from hub.server import signatures, wechat_crypto
from hub.server.signatures import (
    escape_unicode,
    generic_valid,
    meta_valid,
    timestamp_fresh,
    token_valid,
    typeform_valid,
    wechat_valid,
)

SERVER = Path(__file__).resolve().parent.parent / "hub" / "server"


def test_typeform_vector():
    body = b'{"event_id":"01DQDVZ0MS8CTJDYVP6KD57J78"}'
    good = "sha256=" + base64.b64encode(hmac.digest(b"s3cret", body, hashlib.sha256)).decode()
    assert typeform_valid(b"s3cret", body, good)
    assert not typeform_valid(b"s3cret", body + b" ", good)
    assert not typeform_valid(b"other", body, good)
    assert not typeform_valid(b"s3cret", body, good.replace("sha256=", ""))
    assert not typeform_valid(b"s3cret", body, "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest())
    assert not typeform_valid(b"s3cret", body, None)
    assert not typeform_valid(b"s3cret", body, "sha256=Ω非ASCII")  # non-ASCII header: no TypeError


def test_meta_vector_with_chinese_name_raw_and_escaped():
    raw = '{"full_name":"张伟","emoji":"😀"}'.encode()
    escaped = escape_unicode(raw)
    assert escaped == b'{"full_name":"\\u5f20\\u4f1f","emoji":"\\ud83d\\ude00"}'
    for signed in (raw, escaped):
        header = "sha256=" + hmac.new(b"app", signed, hashlib.sha256).hexdigest()
        assert meta_valid(b"app", raw, header)
        assert not meta_valid(b"app", raw.replace("伟".encode(), "化".encode()), header)
    upper = "sha256=" + hmac.new(b"app", raw, hashlib.sha256).hexdigest().upper()
    assert not meta_valid(b"app", raw, upper)


def test_generic_vector_and_timestamps():
    body, ts = b'{"a":1}', "1700000000"
    header = "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert generic_valid(b"k", ts, body, header)
    assert not generic_valid(b"k", "1700000001", body, header)
    assert not generic_valid(b"k", None, body, header)
    now = 1700000000
    assert timestamp_fresh("1700000300", 300, now) and timestamp_fresh("1699999700", 300, now)
    assert not timestamp_fresh("1700000301", 300, now) and not timestamp_fresh("1699999699", 300, now)
    for bad in (None, "", "-5", "1.5", "abc", "9" * 40):
        assert not timestamp_fresh(bad, 300, now)
    assert timestamp_fresh(str(int(time.time())), 300)


def test_tokens():
    assert token_valid(b"abc123", "abc123")
    assert not token_valid(b"abc123", "abc124") and not token_valid(b"abc123", None)
    assert not token_valid(b"abc123", "абв")


def test_wechat_safe_mode_vector():
    key = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    encrypted = wechat_crypto.encrypt(key, b"<xml><MsgId>1</MsgId></xml>", "wxAPP")
    assert wechat_crypto.decrypt(key, encrypted, "wxAPP") == b"<xml><MsgId>1</MsgId></xml>"
    with pytest.raises(wechat_crypto.DecryptError):
        wechat_crypto.decrypt(key, encrypted, "wxOTHER")  # the appid inside must be ours
    flipped = base64.b64encode(bytes([base64.b64decode(encrypted)[0] ^ 1]) + base64.b64decode(encrypted)[1:])
    with pytest.raises(wechat_crypto.DecryptError):
        wechat_crypto.decrypt(key, flipped.decode(), "wxAPP")  # IV-block flip garbles the length or appid
    signature = hashlib.sha1("".join(sorted(["tok", "1700000000", "nonce", encrypted])).encode()).hexdigest()
    assert wechat_valid(b"tok", "1700000000", "nonce", encrypted, signature)
    assert not wechat_valid(b"tok", "1700000001", "nonce", encrypted, signature)
    assert not wechat_valid(b"tok", "1700000000", "nonce", encrypted, None)


# --- T14: constant-time comparisons only ---------------------------------------------------------

SECRETISH = ("sig", "signature", "digest", "token", "mac", "expected", "given", "header", "secret", "tail")


def _names(node: ast.AST) -> set[str]:
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id.lower())
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr.lower())
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            found.add(sub.func.attr.lower())
    return found


def _server_modules() -> list[Path]:
    return sorted(SERVER.rglob("*.py"))


def test_no_equality_comparison_on_signature_values():
    offenders = []
    for path in _server_modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq))
                                                     for op in node.ops):
                names = _names(node)
                if any(word in name for name in names for word in SECRETISH if word != "header") and not any(
                        isinstance(c, ast.Constant) and c.value is None for c in node.comparators):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_every_check_uses_compare_digest_on_bytes():
    tree = ast.parse(Path(signatures.__file__).read_text("utf-8"))
    checks = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.endswith("_valid")]
    assert {f.name for f in checks} == {"typeform_valid", "meta_valid", "generic_valid", "token_valid", "wechat_valid"}
    for function in checks:
        calls = [n for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "compare_digest"]
        assert calls, f"{function.name} does not use hmac.compare_digest"
        returns = [n for n in ast.walk(function) if isinstance(n, ast.Return)]
        assert all(isinstance(r.value, ast.Call) and r.value in calls or isinstance(r.value, ast.Constant)
                   for r in returns), f"{function.name} returns something other than compare_digest"
    crypto = Path(wechat_crypto.__file__).read_text("utf-8")
    assert "compare_digest(tail" in crypto


def test_compare_digest_arguments_are_bytes_at_runtime(monkeypatch):
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    typeform_valid(b"k", b"x", "sha256=abc")
    meta_valid(b"k", "张".encode(), "sha256=abc")
    generic_valid(b"k", "1", b"x", "sha256=abc")
    token_valid(b"k", "t")
    wechat_valid(b"k", "1", "n", "e", "s")
    assert seen and all(pair == (bytes, bytes) for pair in seen)
