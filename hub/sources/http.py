"""HTTP for source connectors: one session, retries with ``tenacity`` that honour ``Retry-After``.

A connector hands ``ApiClient.send`` a request and a ``classify(response)`` function that turns a
vendor's error conventions (an error code inside an HTTP 200 body, a 429 whose body says which
limit was hit) into one of these exceptions:

* ``RateLimited``   a burst limit: wait ``retry_after`` seconds (from ``Retry-After`` in seconds or
                    as an HTTP-date, else exponential backoff) and try again; does not use up the
                    attempt budget unless waits add up past ``max_rate_wait``
* ``QuotaExhausted`` a daily (or longer) quota: never slept on in-process; the stream stops at its
                    last checkpoint and the run ends partial, to resume on the next run
* ``Transient``     5xx, 408, connection errors: exponential backoff, at most ``attempts`` tries
* ``AuthExpired``   the access token expired: the client refreshes it once and retries
* any ``FatalError`` bad credentials, wrong account, bad request: stop, with a one-line reason

Messages name the vendor, the HTTP status and the vendor's error code, never a body value.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from hub.errors import ConnectorError, CusthubError, RetriableError

__all__ = [
    "ApiClient", "AuthExpired", "QuotaExhausted", "RateLimited", "RetryPolicy", "Transient",
    "default_classify", "json_body", "parse_retry_after",
]

log = logging.getLogger("custhub.sources.http")
Classify = Callable[[requests.Response], None]


class RateLimited(RetriableError):
    """A burst rate limit: wait and retry."""


class Transient(RetriableError):
    """A temporary failure (5xx, 408, network): back off and retry."""


class QuotaExhausted(RetriableError):
    """A daily quota is used up: stop now, resume on the next run (never sleep hours in-process)."""


class AuthExpired(CusthubError):
    """The access token is no longer valid: refresh it once and retry."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def json_body(response: requests.Response) -> Any:
    """The response's JSON, or None when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def page_body(response: requests.Response, vendor: str) -> dict[str, Any]:
    """A successful page's JSON object. A body cut off or not JSON is transient: taking it for an
    empty page would end the read early and mark the pass finished."""
    body = json_body(response)
    if not isinstance(body, dict):
        raise Transient(f"{vendor} answered {response.status_code} with a body that is not a JSON object "
                             "(cut off or corrupt); retrying")
    return body


def default_classify(response: requests.Response, vendor: str) -> None:
    """The conventions most APIs share: 429 burst, 5xx/408 transient, other 4xx fatal."""
    status = response.status_code
    if status == 429:
        raise RateLimited(f"{vendor}: rate limited (HTTP 429)",
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500 or status == 408:
        raise Transient(f"{vendor}: server error (HTTP {status})",
                        retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise ConnectorError(f"{vendor}: access refused (HTTP {status}); check the credentials and their scopes")
    if status >= 400:
        raise ConnectorError(f"{vendor}: request refused (HTTP {status})")


@dataclass
class RetryPolicy:
    """How long to keep trying. ``sleep`` is replaceable so tests never wait."""

    attempts: int = 5  # transient failures per request before giving up
    max_rate_wait: float = 900.0  # seconds of burst waits per request before giving up
    max_single_wait: float = 300.0  # a single Retry-After longer than this is treated as a quota
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds))
    backoff: Any = field(default_factory=lambda: wait_random_exponential(multiplier=0.5, max=30))


class ApiClient:
    """A ``requests`` session with retries, for one connector's calls.

    ``refresh_auth`` (optional) is called on ``AuthExpired``, at most once per request.
    """

    def __init__(self, vendor: str, *, policy: RetryPolicy | None = None, timeout: float = 60.0,
                 refresh_auth: Callable[[], None] | None = None) -> None:
        self.vendor = vendor
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.session = requests.Session()
        self.refresh_auth = refresh_auth

    def send(self, method: str, url: str, *, classify: Classify | None = None,
             prepare: Callable[[], dict[str, Any]] | None = None, **kwargs: Any) -> requests.Response:
        """Send a request with retries; ``prepare()`` (if given) returns per-attempt kwargs (auth)."""
        classify = classify or (lambda response: default_classify(response, self.vendor))
        refreshed = False
        waited = 0.0

        def attempt() -> requests.Response:
            nonlocal refreshed
            extra = prepare() if prepare else {}
            try:
                response = self.session.request(method, url, timeout=self.timeout, **_merge(kwargs, extra))
            except requests.RequestException as error:
                raise Transient(f"{self.vendor}: {type(error).__name__} while calling the API") from None
            try:
                classify(response)
            except RateLimited as error:
                if error.retry_after is not None and error.retry_after > self.policy.max_single_wait:
                    raise QuotaExhausted(f"{error}, for {error.retry_after:.0f} s; the run stops here and resumes "
                                         "next run", retry_after=error.retry_after) from None
                raise
            except AuthExpired:
                if refreshed or self.refresh_auth is None:
                    raise ConnectorError(f"{self.vendor}: the access token was refused right after a refresh; "
                                         "check the credentials") from None
                refreshed = True
                self.refresh_auth()
                return attempt()
            return response

        def wait(state: RetryCallState) -> float:
            nonlocal waited
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            seconds = float(hinted) if hinted is not None else float(self.policy.backoff(state))
            waited += seconds
            log.info("%s: %s; retrying in %.1f s", self.vendor, type(error).__name__, seconds)
            return seconds

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited):
                return waited >= self.policy.max_rate_wait
            return state.attempt_number >= self.policy.attempts

        retrying = Retrying(retry=retry_if_exception_type((RateLimited, Transient)), wait=wait, stop=stop,
                            sleep=self.policy.sleep, reraise=True)
        return retrying(attempt)


def _merge(kwargs: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(kwargs)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


