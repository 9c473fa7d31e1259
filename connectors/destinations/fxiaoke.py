"""纷享销客 FxiaoKe CRM destination (ContactObj, LeadsObj, ...): query, then create or update.

FxiaoKe has no upsert. A row without a known ``_id`` is first looked up by the unique field holding
the custhub id (``key_field``); only when nothing is found is it created. So after an unknown
outcome (a create that timed out), the retry finds the record the first attempt made instead of
creating a second one. Errors arrive as HTTP 200 with ``errorCode``: 0 ok, 20016 token invalid
(refresh once), 30002 daily quota (run ends partial), 30004 per-second limit (wait and retry).
Erasure removes a record for good: ``/cgi/crm/v2/data/invalid`` (to the recycle bin, which is all a
mirror ``delete`` does) then ``/cgi/crm/v2/data/delete`` with ``idList``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from connectors.destinations.common import PRIVACY_PROPS, SECRET, as_text, http, json_body, not_present
from hub.errors import ConnectorError
from hub.sync.destination import OutRow, RowResult
from hub.sync.errors import RateLimited, Transient

SPEC = {"type": "object", "additionalProperties": False,
        "required": ["app_id", "app_secret", "permanent_code", "current_open_user_id"], "properties": {
            "base_url": {"type": "string", "default": "https://open.fxiaoke.com"},
            "app_id": {"type": "string"}, "app_secret": SECRET, "permanent_code": SECRET,
            "current_open_user_id": {"type": "string"},
            "object": {"type": "string", "default": "ContactObj"},
            "batch_size": {"type": "integer", "minimum": 1, "maximum": 100}, "timeout": {"type": "number"},
            "max_attempts": {"type": "integer", "minimum": 1}, "fail_max": {"type": "integer", "minimum": 1},
            "reset_timeout": {"type": "number", "minimum": 0}, **PRIVACY_PROPS}}
TOKEN_INVALID, DAILY_QUOTA, PER_SECOND = 20016, 30002, 30004
BUSY = (-1, 50009)


def _seconds_to_reset() -> float:  # the daily quota resets at 00:00 China time
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    return ((now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0) - now).total_seconds()


class RowRefused(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class FxiaoKeWriter:
    def __init__(self, config: Mapping[str, Any], key_field: str, session: requests.Session | None = None) -> None:
        self.config = config
        self.key = key_field
        self.session = session or requests.Session()
        self.base = config.get("base_url", "https://open.fxiaoke.com").rstrip("/")
        self.object = config.get("object", "ContactObj")
        self.batch_size = int(config.get("batch_size", 20))
        self.timeout = float(config.get("timeout", 30))
        self.token: tuple[str, str] | None = None

    def refresh(self) -> None:
        response = http(self.session, "POST", f"{self.base}/cgi/corpAccessToken/get/V2", timeout=self.timeout,
                        json={"appId": self.config["app_id"], "appSecret": self.config["app_secret"],
                              "permanentCode": self.config["permanent_code"]})
        body = json_body(response)
        if body.get("errorCode") != 0 or "corpAccessToken" not in body:
            raise ConnectorError(f"FxiaoKe token request failed (errorCode {body.get('errorCode')}); check app_id, "
                                 "app_secret and permanent_code")
        self.token = (body["corpAccessToken"], body["corpId"])

    def call(self, path: str, data: dict[str, Any], **top: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            if self.token is None:
                self.refresh()
            token, corp = self.token
            body = {"corpAccessToken": token, "corpId": corp,
                    "currentOpenUserId": self.config["current_open_user_id"], **top, "data": data}
            response = http(self.session, "POST", f"{self.base}{path}", timeout=self.timeout, json=body,
                            params={"thirdTraceId": str(uuid.uuid4())})
            answer = json_body(response)
            code = answer.get("errorCode")
            if code == TOKEN_INVALID and attempt == 1:
                self.token = None
                continue
            break
        if code == 0:
            return answer
        if code == DAILY_QUOTA:
            raise RateLimited("FxiaoKe: daily quota used up (30002)", scope="daily", retry_after=_seconds_to_reset())
        if code == PER_SECOND:
            raise RateLimited("FxiaoKe: per-second limit (30004)", scope="burst", retry_after=1.0)
        if code in BUSY or code is None:
            raise Transient(f"FxiaoKe {path}: errorCode {code}")
        if code == TOKEN_INVALID:
            raise ConnectorError("FxiaoKe: token rejected after a refresh (20016)")
        raise RowRefused(int(code))

    def find(self, profile_id: str) -> str | None:
        answer = self.call("/cgi/crm/v2/data/query", {"dataObjectApiName": self.object, "search_query_info": {
            "limit": 1, "offset": 0, "filters": [
                {"field_name": self.key, "field_values": [profile_id], "operator": "EQ"}]}})
        found = (answer.get("data") or {}).get("dataList") or []
        return str(found[0]["_id"]) if found else None

    def _fields(self, row: OutRow) -> dict[str, Any]:
        return {k: as_text(v) for k, v in row.payload.items()}

    def one(self, row: OutRow) -> RowResult:
        flows = {"triggerApprovalFlow": False, "triggerWorkFlow": False}
        try:
            if row.op == "erase":
                return self.erase(row)
            if row.op == "delete":
                self.call("/cgi/crm/v2/data/invalid", {"dataObjectApiName": self.object,
                                                       "object_data_id": row.external_id})
                return RowResult.ok(row.external_id)
            record_id = row.external_id or self.find(row.profile_id)
            if record_id is None:
                if row.op == "update":
                    return RowResult.rejected("NOT_FOUND", "no record with this custhub id")
                answer = self.call("/cgi/crm/v2/data/create", {"object_data": {
                    "dataObjectApiName": self.object, **self._fields(row)}}, **flows)
                return RowResult.ok(str(answer.get("dataId")))
            self.call("/cgi/crm/v2/data/update", {"object_data": {
                "_id": record_id, "dataObjectApiName": self.object, **self._fields(row)}}, **flows)
            return RowResult.ok(record_id)
        except RowRefused as exc:
            return RowResult.rejected(str(exc.code), f"FxiaoKe errorCode {exc.code}")

    def erase(self, row: OutRow) -> RowResult:
        record_id = row.external_id or self.find(row.profile_id)
        if record_id is None:
            return not_present()
        try:
            self.call("/cgi/crm/v2/data/invalid", {"dataObjectApiName": self.object, "object_data_id": record_id})
        except RowRefused:
            pass  # already invalid (a mirror delete put it in the recycle bin): delete it from there
        self.call("/cgi/crm/v2/data/delete", {"dataObjectApiName": self.object, "idList": [record_id]})
        return RowResult.ok(record_id)

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        return [self.one(row) for row in rows]

    def close(self) -> None:
        self.session.close()


class FxiaoKeDestination:
    name = "fxiaoke"
    description = "纷享销客 FxiaoKe CRM objects (ContactObj, LeadsObj, ...): query then create or update"
    erasure_capabilities = ("delete", "anonymise")

    def spec(self) -> dict[str, Any]:
        return SPEC

    def open(self, config: Mapping[str, Any], *, key_field: str) -> FxiaoKeWriter:
        return FxiaoKeWriter(config, key_field)
