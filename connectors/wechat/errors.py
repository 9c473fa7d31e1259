"""What WeChat's errcodes mean to a run. Every answer is HTTP 200; an error is a body
``{"errcode": N, "errmsg": "..."}``:

* 40001, 42001, 40014  the access token is stale: ``AuthExpired``, fetch a new one and repeat once
* -1                   system busy: back off and retry (tenacity)
* 45011                the minute quota: wait a minute and retry
* 45009                the day's quota of the API is used up: ``QuotaExhausted``, the stream stops
                       at its checkpoint, the run ends partial and the next one resumes (never slept)
* 40164                this server's IP is not on the account's allow-list: fatal, with the fix
* 40013, 40125         a wrong AppID or AppSecret: fatal; 48001: the account lacks the permission

Messages name the API path and errcode, never ``errmsg`` (which may echo an openid or an IP).
"""

from __future__ import annotations

from typing import Any

import requests

from hub.errors import ConfigError, ConnectorError, CusthubError
from hub.sources.http import AuthExpired, QuotaExhausted, RateLimited, Transient, json_body, parse_retry_after

VENDOR = "WeChat"
STALE_TOKEN = frozenset({40001, 42001, 40014})


def errcode(body: Any) -> int:
    try:
        return int(body.get("errcode") or 0) if isinstance(body, dict) else 0
    except (TypeError, ValueError):
        return 0


def classify_http(response: requests.Response, path: str) -> dict[str, Any]:
    """The JSON body of an answer that is not an HTTP failure; HTTP failures raise."""
    if response.status_code == 429:  # not WeChat's own way, but gateways in front of it do
        raise RateLimited(f"{VENDOR} {path}: rate limited (HTTP 429)",
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        raise Transient(f"{VENDOR} {path}: server error (HTTP {response.status_code})")
    body = json_body(response)
    if not isinstance(body, dict):
        raise Transient(f"{VENDOR} {path}: HTTP {response.status_code} without a JSON object")
    return body


def classify(response: requests.Response, path: str) -> None:
    """An API call: raise what the errcode of the body means; nothing for success."""
    code = errcode(classify_http(response, path))
    if not code:
        return
    if code in STALE_TOKEN:
        raise AuthExpired(f"{VENDOR} {path}: access token is stale (errcode {code})")
    raise call_error(code, path)


def classify_token(response: requests.Response) -> None:
    path = "/cgi-bin/token"
    body = classify_http(response, path)
    code = errcode(body)
    if code or not body.get("access_token"):
        raise token_error(code)


def call_error(code: int, path: str) -> CusthubError:
    if code == -1:
        return Transient(f"{VENDOR} {path}: system busy (errcode -1)")
    if code == 45011:
        return RateLimited(f"{VENDOR} {path}: minute quota reached (errcode 45011)", retry_after=60)
    if code == 45009:
        return QuotaExhausted(f"{VENDOR} {path}: the daily API quota is used up (errcode 45009); "
                              "the next run resumes from the last checkpoint")
    if code == 40164:
        return _ip_error()
    if code == 48001:
        return ConfigError(f"{VENDOR} {path}: the account may not call this API (errcode 48001)",
                           fix="user management needs a verified (认证) Official Account")
    return ConnectorError(f"{VENDOR} {path}: failed with errcode {code}")


def token_error(code: int) -> CusthubError:
    if code in (-1, 45011, 45009, 40164):
        return call_error(code, "/cgi-bin/token")
    if code == 40013:
        return ConfigError(f"{VENDOR} does not know this app_id (errcode 40013)",
                           fix="copy the AppID from 设置与开发 → 基本配置")
    if code in (40001, 40125):
        return ConfigError(f"{VENDOR} refused the app_secret (errcode {code})",
                           fix="copy or reset the AppSecret in 设置与开发 → 基本配置")
    return ConnectorError(f"{VENDOR} /cgi-bin/token: no access token (errcode {code})")


def _ip_error() -> ConfigError:
    return ConfigError(f"{VENDOR} refused this server's IP address (errcode 40164)",
                       fix="add the server's public IP to the account's IP allow-list: "
                           "设置与开发 → 基本配置 → IP白名单")
