"""``/system/metrics``: OSCAR's usage metrics, computed from Sluice's own records.

Asynchronous requests are the jobs the ledger created in the range (uploads and ``/job``
calls), synchronous ones the ``/run`` calls of the execution log. CPU-hours are each job's and
call's run time in the range times its service's ``cpu``: what was reserved, not measured.
Users are the callers in the execution log. Sluice has no exposed services, no GPUs and no
geolocation, so those metrics are zero or empty.
"""

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sluice.domain.job import JobStatus
from sluice.domain.service import Service
from sluice.errors import Invalid
from sluice.state.executions import Execution
from sluice.state.job_stats import JobSpan

METRIC_KEYS = (
    "services-count",
    "cpu-hours",
    "gpu-hours",
    "requests-sync-per-service",
    "requests-async-per-service",
    "requests-exposed-per-service",
    "requests-per-user",
    "users-per-service",
    "countries-count",
    "countries-list",
)
# The keys OSCAR answers for one service; the others are cluster-wide (400 there too).
SERVICE_KEYS = (
    "cpu-hours",
    "gpu-hours",
    "requests-sync-per-service",
    "requests-async-per-service",
    "requests-exposed-per-service",
    "users-per-service",
)
GROUPS = ("service", "user", "country")
DEFAULT_WINDOW = timedelta(hours=24)
# OSCAR's source names. No notes: OSCAR's dashboard shows any note as a warning.
USAGE = {"name": "usage-metrics", "status": "ok"}  # the job ledger
REQUESTS = {"name": "request-logs", "status": "ok"}  # the execution log and the ledger
EXPOSED = {"name": "exposed-request-logs", "status": "ok"}  # none: no exposed services


class MetricsQueryError(Invalid):
    """A bad metrics query; OSCAR answers these with a JSON ``{"error": ...}`` body."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


def parse_range(start: str, end: str, now: datetime | None = None) -> TimeRange:
    """OSCAR's rules: RFC 3339 bounds, ``end`` defaults to now and ``start`` to 24 h before."""
    until = _timestamp(end, "end") if end.strip() else (now or datetime.now(UTC))
    try:
        since = _timestamp(start, "start") if start.strip() else until - DEFAULT_WINDOW
    except OverflowError:  # end in the first day of year 1
        raise MetricsQueryError("invalid end timestamp: too early") from None
    if until < since:
        raise MetricsQueryError("end must be after start")
    return TimeRange(since, until)


def _timestamp(value: str, which: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MetricsQueryError(f"invalid {which} timestamp") from None
    if parsed.tzinfo is None:
        raise MetricsQueryError(f"invalid {which} timestamp")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant
        raise MetricsQueryError(f"invalid {which} timestamp: out of range") from None


@dataclass(frozen=True)
class Activity:
    """What happened in one time range."""

    range: TimeRange
    jobs: list[JobSpan]
    calls: list[Execution]
    cpu: dict[str, float]  # cores per service, for the services that exist now

    def created_jobs(self, service: str | None = None) -> list[JobSpan]:
        return [
            job
            for job in self.jobs
            if self.range.start <= job.created_at < self.range.end
            and (service is None or job.service == service)
        ]

    def sync_calls(self, service: str | None = None) -> list[Execution]:
        return [c for c in self.calls if c.kind == "sync" and service in (None, c.service)]

    def users(self, service: str | None = None) -> list[str]:
        return sorted({c.user for c in self.calls if c.user and service in (None, c.service)})

    def cpu_hours(self, service: str | None = None) -> float:
        seconds = 0.0
        for job in self.jobs:
            if service in (None, job.service) and job.started_at is not None:
                ran = _overlap(job.started_at, job.finished_at or datetime.now(UTC), self.range)
                seconds += ran * self.cpu.get(job.service, 0.0)
        for call in self.sync_calls(service):
            seconds += call.latency * self.cpu.get(call.service, 0.0)
        return round(seconds / 3600, 6)


def _overlap(start: datetime, end: datetime, window: TimeRange) -> float:
    return max(0.0, (min(end, window.end) - max(start, window.start)).total_seconds())


class Metrics:
    def __init__(
        self,
        jobs: Callable[[datetime, datetime, str | None], list[JobSpan]],
        calls: Callable[[datetime, datetime, str | None], list[Execution]],
        services: Callable[[], Sequence[Service]],
    ) -> None:
        self._jobs = jobs
        self._calls = calls
        self._services = services

    def summary(self, window: TimeRange) -> dict[str, Any]:
        activity = self._activity(window)
        created = activity.created_jobs()
        sync = activity.sync_calls()
        users = activity.users()
        finished = Counter(
            job.status
            for job in activity.jobs
            if job.finished_at is not None and window.start <= job.finished_at < window.end
        )
        active_services = {job.service for job in created} | {call.service for call in sync}
        totals = {
            "services_count_active": len(activity.cpu),
            "services_count_total": len(active_services),
            "cpu_hours_total": activity.cpu_hours(),
            "gpu_hours_total": 0.0,
            "requests_count_total": len(created) + len(sync),
            "requests_count_sync": len(sync),
            "requests_count_async": len(created),
            "requests_count_exposed": 0,
            "countries_count": 0,
            "countries": [],
            "users_count": len(users),
            "users": users,
            # Sluice's additions: how the jobs that ended in the range ended.
            "jobs_succeeded": finished[JobStatus.SUCCEEDED],
            "jobs_failed": finished[JobStatus.FAILED],
        }
        return {**_bounds(window), "totals": totals, "sources": [USAGE, REQUESTS, EXPOSED]}

    def service_value(self, service: str, key: str, window: TimeRange) -> dict[str, Any]:
        if key not in METRIC_KEYS:
            raise MetricsQueryError("invalid metric key")
        if key not in SERVICE_KEYS:
            raise MetricsQueryError("unsupported metric for value query")
        value = self._value(self._activity(window, service), service, key)
        return {"service_id": service, "metric": key, **_bounds(window), **value}

    def service_values(self, service: str, window: TimeRange) -> dict[str, Any]:
        activity = self._activity(window, service)
        return {
            "service_name": service,
            **_bounds(window),
            "metrics": [
                {"metric": key, **self._value(activity, service, key)} for key in SERVICE_KEYS
            ],
        }

    def breakdown(
        self, window: TimeRange, group_by: str, include_users: bool = False
    ) -> dict[str, Any]:
        group = group_by.strip().lower()
        if not group:
            raise MetricsQueryError("group_by is required")
        if group not in GROUPS:
            raise MetricsQueryError("unsupported group_by")
        activity = self._activity(window)
        if group == "service":
            items = _by_service(activity, include_users)
        elif group == "user":
            items = [
                {"key": user, "executions_count": count, "countries": []}
                for user, count in sorted(Counter(c.user for c in activity.calls if c.user).items())
            ]
        else:
            items = []  # no geolocation
        return {**_bounds(window), "group_by": group, "items": items}

    def _activity(self, window: TimeRange, service: str | None = None) -> Activity:
        cpu = {s.name: s.cpu_cores for s in self._services()}
        jobs = self._jobs(window.start, window.end, service)
        return Activity(window, jobs, self._calls(window.start, window.end, service), cpu)

    @staticmethod
    def _value(activity: Activity, service: str, key: str) -> dict[str, Any]:
        if key in ("cpu-hours", "gpu-hours"):
            hours = activity.cpu_hours(service) if key == "cpu-hours" else 0.0
            return {"value": hours, "unit": "hours", "sources": [USAGE]}
        if key == "requests-exposed-per-service":
            return {"value": 0.0, "sources": [EXPOSED]}
        counts = {
            "requests-sync-per-service": len(activity.sync_calls(service)),
            "requests-async-per-service": len(activity.created_jobs(service)),
            "users-per-service": len(activity.users(service)),
        }
        return {"value": float(counts[key]), "sources": [REQUESTS]}


def _by_service(activity: Activity, include_users: bool) -> list[dict[str, Any]]:
    sync: Counter[str] = Counter(call.service for call in activity.sync_calls())
    async_: Counter[str] = Counter(job.service for job in activity.created_jobs())
    users: dict[str, set[str]] = defaultdict(set)
    for call in activity.calls:
        if call.user:
            users[call.service].add(call.user)
    items = []
    for name in sorted(set(sync) | set(async_)):
        item: dict[str, Any] = {
            "key": name,
            "requests_count_total": sync[name] + async_[name],
            "requests_count_sync": sync[name],
            "requests_count_async": async_[name],
            "requests_count_exposed": 0,
            "unique_users_count": len(users[name]),
            "countries": [],
        }
        if include_users:
            item["users"] = sorted(users[name])
        items.append(item)
    return items


def _bounds(window: TimeRange) -> dict[str, str]:
    return {"start": _rfc3339(window.start), "end": _rfc3339(window.end)}


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def breakdown_csv(breakdown: dict[str, Any], include_users: bool = False) -> str:
    """OSCAR's CSV export of a breakdown (``format=csv``)."""
    group = breakdown["group_by"]
    if group == "service" and include_users:
        raise MetricsQueryError("include_users is not supported for csv")
    columns = {
        "user": ["key", "membership", "executions_count", "countries"],
        "service": [
            "key",
            "membership",
            "requests_count_total",
            "requests_count_sync",
            "requests_count_async",
            "requests_count_exposed",
            "unique_users_count",
            "countries",
        ],
    }.get(group, ["key", "membership", "executions_count", "unique_users_count", "countries"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in breakdown["items"]:
        writer.writerow([_cell(item, column) for column in columns])
    return out.getvalue()


def _cell(item: dict[str, Any], column: str) -> str:
    if column == "countries":
        return "|".join(f"{c['country']}:{c['request_count']}" for c in item.get("countries", []))
    return str(item.get(column, 0 if column.endswith("count") else ""))
