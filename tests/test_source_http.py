"""Shared HTTP helpers of source connectors (hub.sources.http) and the declarative runner's guards."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import responses

from hub.errors import ConnectorError
from hub.sources.declarative import RedactHttpBodies
from hub.sources.http import ApiClient, QuotaExhausted, RetryPolicy, parse_retry_after

URL = "https://api.example.com/items"
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("Mon, 23 Nov 2026 12:00:30 GMT", 30.0),
    ("Mon, 23 Nov 2026 11:59:00 GMT", 0.0), ("soon", None), (None, None)])
def test_retry_after_in_seconds_or_http_date(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


def client(slept: list[float], **policy) -> ApiClient:
    return ApiClient("Example", policy=RetryPolicy(sleep=slept.append, **policy))


@responses.activate
def test_429_waits_retry_after_then_succeeds():
    responses.add(responses.GET, URL, status=429, headers={"Retry-After": "3"})
    responses.add(responses.GET, URL, status=200, json={"ok": True})
    slept: list[float] = []
    assert client(slept).send("GET", URL).json() == {"ok": True}
    assert slept == [3.0]


@responses.activate
def test_5xx_backs_off_exponentially_and_gives_up_after_the_attempts():
    for _ in range(3):
        responses.add(responses.GET, URL, status=503)
    slept: list[float] = []
    with pytest.raises(Exception, match=r"Example: server error \(HTTP 503\)"):
        client(slept, attempts=3).send("GET", URL)
    assert len(slept) == 2 and all(0 <= s <= 30 for s in slept)


@responses.activate
def test_a_retry_after_of_hours_is_a_quota_not_a_sleep():
    responses.add(responses.GET, URL, status=429, headers={"Retry-After": "36000"})
    slept: list[float] = []
    with pytest.raises(QuotaExhausted, match="resumes next run"):
        client(slept).send("GET", URL)
    assert slept == []


@responses.activate
def test_401_is_fatal_with_one_line():
    responses.add(responses.GET, URL, status=401, json={"message": "secret-token-value is wrong"})
    with pytest.raises(ConnectorError) as error:
        client([]).send("GET", URL)
    assert "secret-token-value" not in str(error.value) and "\n" not in str(error.value)


def test_cdk_request_failure_logs_lose_their_bodies():
    record = logging.LogRecord("airbyte.HttpRequester.contacts", logging.ERROR, __file__, 1,
                               "'POST' request to 'https://api.hubapi.com/x' failed with status code '400' and error "
                               "message: 'bad'. Request (body): '{\"email\": \"ada@example.com\"}'. Response (body): "
                               "'{\"email\": \"ada@example.com\"}'", (), None)
    RedactHttpBodies().filter(record)
    assert record.getMessage() == "'POST' request to 'https://api.hubapi.com/x' failed with status code '400'"
