"""Request plumbing shared by every webhook endpoint: the capped body read, parsing, refusals.

Nothing here ever puts a byte of the request into a response or a log line: refusals carry a fixed
reason chosen by the code, and parse errors are reported by kind only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import FormData, Headers
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

MAX_FORM_FIELDS = 500


class Refused(Exception):
    """The request is refused with ``status``; ``reason`` is a fixed text, never request data."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_capped_body(request: Request, cap: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``cap`` bytes.

    A declared Content-Length above the cap is refused before a byte is read; a chunked (or lying)
    body is counted as it streams in and abandoned at the first chunk that crosses the cap.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "invalid Content-Length")
        if int(declared) > cap:
            raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; anything else (syntax, NaN, duplicate keys, huge ints, deep nesting) is a 400."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise Refused(400, "malformed JSON body") from None
    if not isinstance(value, dict):
        raise Refused(400, "the JSON body must be an object")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


async def parse_form(raw: bytes, headers: Headers) -> dict[str, Any]:
    """A urlencoded or multipart body as {field: value or [values]}; uploaded files are refused."""
    content_type = headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            form = await MultiPartParser(headers, _replay(raw), max_files=0, max_fields=MAX_FORM_FIELDS).parse()
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = await FormParser(headers, _replay(raw), max_fields=MAX_FORM_FIELDS).parse()
        else:
            raise Refused(415, "unsupported content type")
    except MultiPartException:
        raise Refused(400, "malformed form body") from None
    return _form_dict(form)


def _form_dict(form: FormData) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in form.keys():  # FormData is a multi-dict: each key once, every value by getlist
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if len(values) != len(form.getlist(key)):
            raise Refused(400, "file uploads are not accepted")
        result[key] = values[0] if len(values) == 1 else values
    return result


async def _replay(raw: bytes) -> AsyncIterator[bytes]:
    yield raw
    yield b""
