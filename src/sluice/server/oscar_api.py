"""The parts behind the rest of OSCAR's API (buckets, status, execution log, metrics,
deployments, volumes), built from what ``build_platform`` already made."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sluice.capacity import Capacity
from sluice.core.buckets import BucketManager, StoreCounts
from sluice.core.deployments import DeploymentViews
from sluice.core.execution_log import ExecutionLog
from sluice.core.metrics import Metrics
from sluice.core.oscar_api import OscarApi
from sluice.core.service_views import ServiceViews
from sluice.core.services import ADMIN_OWNER, ServiceManager
from sluice.core.status import StatusSources
from sluice.core.volumes import FolderVolumes, VolumeManager, VolumePlace
from sluice.datadir import DataDir
from sluice.domain.parts import MinIOProvider
from sluice.domain.service import Service
from sluice.errors import NotFound, StorageError
from sluice.execution.base import Executor
from sluice.settings import Settings
from sluice.state.buckets import BucketStore
from sluice.state.database import Database
from sluice.state.executions import ExecutionStore
from sluice.state.job_stats import JobStats
from sluice.state.jobs import JobLedger
from sluice.state.volumes import VolumeStore
from sluice.storage.s3 import S3Provider


def build_oscar_api(
    settings: Settings,
    database: Database,
    object_store: MinIOProvider,
    services: ServiceManager,
    ledger: JobLedger,
    capacity: Capacity,
    executor: Executor,
    started_at: float,
    volume_place: VolumePlace | None = None,
) -> OscarApi:
    """``volume_place``: where managed volumes live (folders in the data dir by default)."""

    def current_services() -> list[Service]:
        return [record.service for record in services.list()]

    buckets = BucketManager(
        _s3(object_store),
        BucketStore(database),
        current_services,
        settings.cluster_name,
        whole_store=settings.s3_endpoint is None,
    )
    services.add_listener(buckets.on_service_change)

    volumes = VolumeManager(
        VolumeStore(database),
        volume_place or FolderVolumes(DataDir(settings.data_dir).volumes),
        current_services,
        owner=ADMIN_OWNER,
        namespace=settings.services_namespace,
    )
    services.add_checker(lambda service: volumes.check(service, _stored(services, service)))
    # Added last, so a service refused by an earlier step creates no volume.
    services.add_preparer(lambda service: volumes.prepare(service, _stored(services, service)))
    services.add_listener(volumes.on_service_change)

    started = datetime.fromtimestamp(started_at, UTC)
    retention = timedelta(days=settings.execution_log_days)
    executions = ExecutionLog(ExecutionStore(database), retention, started)
    stats = JobStats(database)
    deployments = DeploymentViews(
        executor.workers, stats.running, stats.latest_logs, settings.services_namespace
    )
    status = StatusSources(
        cluster_name=settings.cluster_name,
        started_at=started_at,
        capacity=capacity,
        job_counts=ledger.counts,
        services_count=lambda: len(services.list()),
        store_counts=_counts_or_zero(buckets.counts),
    )
    return OscarApi(
        buckets=buckets,
        status=status,
        executions=executions,
        metrics=Metrics(stats.spans, executions.between, current_services),
        deployments=deployments,
        volumes=volumes,
        service_views=ServiceViews(object_store, settings.services_namespace, volumes, deployments),
    )


def _stored(services: ServiceManager, service: Service) -> Service | None:
    """The stored definition a create or update replaces (None on create)."""
    try:
        return services.get(service.name).service
    except NotFound:
        return None


def _s3(object_store: MinIOProvider) -> S3Provider:
    return S3Provider(
        object_store.endpoint,
        object_store.access_key,
        object_store.secret_key,
        object_store.region,
        object_store.verify,
    )


STORE_COUNTS_SECONDS = 30.0  # counting lists every bucket: do it at most this often


def _counts_or_zero(counts: Callable[[], StoreCounts]) -> Callable[[], StoreCounts]:
    """Status still answers when the object store does not (OSCAR's leaves the counts at 0),
    and does not list every bucket each time it is asked (the dashboard polls it): the counts
    are at most ``STORE_COUNTS_SECONDS`` old."""
    kept: list[tuple[float, StoreCounts]] = []
    lock = threading.Lock()

    def safe() -> StoreCounts:
        with lock:
            if kept and time.monotonic() - kept[0][0] < STORE_COUNTS_SECONDS:
                return kept[0][1]
            try:
                found = counts()
            except StorageError:
                return StoreCounts(0, 0)
            kept[:] = [(time.monotonic(), found)]
            return found

    return safe
