"""T15: the body cap holds before the body is read, for declared and for chunked bodies, in the
app itself (bytes pulled from the ASGI ``receive`` are counted) and over real HTTP with uvicorn."""

from __future__ import annotations

import select
import socket
import time

import anyio
import httpx
import pytest

from hub.config import load_config
from hub.server import build_app, server_settings
from hub.store import Store
from tests.helpers import table_rows
from tests.webhook_server import ServerProcess
from tests.webhook_support import SECRETS, typeform_body, typeform_headers, write_config

CAP = 65536
CHUNK = 16384


@pytest.fixture
def app(monkeypatch, tmp_path):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    store_url = f"sqlite:///{tmp_path / 'custhub.db'}"
    config = load_config(write_config(tmp_path, store_url, max_body=CAP))
    store = Store.open(store_url)
    yield build_app(server_settings(config), store), store_url
    store.close()


def call(app, path: str, headers: dict[str, str], body_chunks) -> tuple[int, int, bytes]:
    """POST through the raw ASGI interface; returns (status, body bytes the app pulled, response body)."""
    pulled = 0
    chunks = iter(body_chunks)
    status, response = 0, b""

    async def receive():
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        nonlocal status, response
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            response += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000)}
    anyio.run(app, scope, receive, send)
    return status, pulled, response


def endless(chunk: bytes = b"x" * CHUNK):
    while True:
        yield chunk


def test_chunked_body_without_length_is_cut_at_the_cap(app):
    asgi, store_url = app
    status, pulled, response = call(asgi, "/hooks/typeform/survey", {"typeform-signature": "sha256=x"}, endless())
    assert status == 413 and b"xxx" not in response
    assert CAP < pulled <= CAP + CHUNK  # never more than one chunk past the cap
    assert table_rows(store_url, "SELECT count(*) FROM webhook_inbox") == [(0,)]


def test_declared_length_over_the_cap_reads_nothing(app):
    asgi, _ = app
    headers = {"typeform-signature": "sha256=x", "content-length": str(2 * 1024**3)}
    status, pulled, _ = call(asgi, "/hooks/typeform/survey", headers, endless())
    assert (status, pulled) == (413, 0)


def test_lying_content_length_is_still_counted(app):
    asgi, _ = app
    headers = {"typeform-signature": "sha256=x", "content-length": "10"}
    status, pulled, _ = call(asgi, "/hooks/typeform/survey", headers, endless())
    assert status == 413 and pulled <= CAP + CHUNK


def test_unknown_form_and_bad_token_read_nothing(app):
    asgi, _ = app
    assert call(asgi, "/hooks/typeform/nope", {}, endless())[:2] == (404, 0)
    assert call(asgi, "/hooks/jotform/expo/wrong", {"content-type": "multipart/form-data; boundary=b"},
                endless())[:2] == (403, 0)


def test_real_server_refuses_endless_chunked_body_and_stays_up(tmp_path):
    store_url = f"sqlite:///{tmp_path / 'custhub.db'}"
    server = ServerProcess(write_config(tmp_path, store_url, max_body=CAP), tmp_path / "server.log")
    server.start()
    try:
        limit = 256 * 1024 * 1024  # the client would send 256 MiB if the server read everything
        sent, answer = 0, b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /hooks/typeform/survey HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Typeform-Signature: sha256=x\r\nContent-Type: application/json\r\n\r\n")
            chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
            while sent < limit:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                try:
                    sock.sendall(chunk)
                except OSError:  # the server closed the connection after answering
                    break
                sent += CHUNK
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
                try:
                    data = sock.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                answer += data
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        print(f"\nT15: 413 after the client had sent {sent:,} bytes (cap {CAP:,})")
        assert sent < limit  # answered long before the client was done
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # still up
        body = typeform_body("after-413")
        ok = httpx.post(f"{server.url}/hooks/typeform/survey", content=body, headers=typeform_headers(body))
        assert ok.status_code == 200
        # after the 413 the server closes the connection instead of draining the rest of the body
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /hooks/typeform/survey HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            drained = 0
            with pytest.raises(OSError):
                while drained < limit:
                    sock.sendall(chunk)
                    drained += CHUNK
        print(f"T15: the server closed the connection after {drained:,} bytes were sent")
        # a declared huge length over real HTTP: 413 with nothing sent after the headers
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /hooks/typeform/survey HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000000\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 413")
    finally:
        server.stop()
    assert table_rows(store_url, "SELECT event_id FROM webhook_inbox") == [("after-413",)]
