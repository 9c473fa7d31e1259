"""Scheduled jobs from config: one per scheduled connection and destination, with APScheduler triggers.

``schedule: {cron: "0 2 * * *"}`` or ``{interval: 30m}``, plus ``timezone`` (default UTC),
``coalesce`` (default true: a backlog of missed runs runs once) and ``misfire_grace`` (a run later
than this is skipped and logged as ``missed``; default: no limit).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.config import Config
from hub.errors import ConfigError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Job:
    id: str  # "connection:<name>" or "destination:<name>"
    schedule: dict[str, Any]
    trigger: BaseTrigger
    coalesce: bool = True
    misfire_grace: timedelta | None = None

    @property
    def kind(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def target(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def fingerprint(self) -> str:
        return json.dumps(self.schedule, sort_keys=True)


def duration(text: str) -> timedelta:
    number, unit = re.fullmatch(r"(\d+)([smhd])", text).groups()  # the config schema checked the pattern
    return timedelta(**{_UNITS[unit]: int(number)})


def make_trigger(schedule: dict[str, Any], *, file: str, where: str) -> BaseTrigger:
    tz = schedule.get("timezone", "UTC")
    if ("cron" in schedule) == ("interval" in schedule):
        raise ConfigError("needs exactly one of 'cron' and 'interval'", file=file, path=where)
    try:
        if "cron" in schedule:
            return CronTrigger.from_crontab(schedule["cron"], timezone=tz)
        return IntervalTrigger(seconds=duration(schedule["interval"]).total_seconds(), timezone=tz)
    except (ValueError, LookupError) as exc:
        raise ConfigError(f"invalid schedule ({type(exc).__name__})", file=file, path=where,
                          fix="cron: five fields such as '0 2 * * *'; timezone: an IANA name such as "
                              "Asia/Shanghai") from None


def jobs_from_config(config: Config) -> list[Job]:
    found = []
    entries = [("connection", n, c.schedule, c.enabled) for n, c in config.connections.items()]
    entries += [("destination", n, d.schedule, d.enabled) for n, d in config.destinations.items()]
    for kind, name, schedule, enabled in sorted(entries):
        if not schedule or not enabled:
            continue
        where = f"{kind}s.{name}.schedule"
        grace = schedule.get("misfire_grace")
        found.append(Job(f"{kind}:{name}", schedule, make_trigger(schedule, file=str(config.file), where=where),
                         coalesce=schedule.get("coalesce", True), misfire_grace=duration(grace) if grace else None))
    return found
