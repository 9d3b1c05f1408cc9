"""The parts behind the rest of OSCAR's API (buckets, status, execution log, metrics,
deployments, volumes), built from what ``build_platform`` already made."""

from collections.abc import Callable

from sluice.core.buckets import BucketManager, StoreCounts
from sluice.core.oscar_api import OscarApi
from sluice.core.services import ServiceManager
from sluice.core.status import CapacityView, StatusSources
from sluice.domain.parts import MinIOProvider
from sluice.domain.service import Service
from sluice.errors import StorageError
from sluice.settings import Settings
from sluice.state.buckets import BucketStore
from sluice.state.database import Database
from sluice.state.jobs import JobLedger
from sluice.storage.s3 import S3Provider


def build_oscar_api(
    settings: Settings,
    database: Database,
    object_store: MinIOProvider,
    services: ServiceManager,
    ledger: JobLedger,
    capacity: CapacityView,
    started_at: float,
) -> OscarApi:
    store = S3Provider(
        object_store.endpoint,
        object_store.access_key,
        object_store.secret_key,
        object_store.region,
        object_store.verify,
    )

    def current_services() -> list[Service]:
        return [record.service for record in services.list()]

    buckets = BucketManager(
        store,
        BucketStore(database),
        current_services,
        settings.cluster_name,
        whole_store=settings.s3_endpoint is None,
    )
    services.add_listener(buckets.on_service_change)
    status = StatusSources(
        cluster_name=settings.cluster_name,
        started_at=started_at,
        capacity=capacity,
        job_counts=ledger.counts,
        services_count=lambda: len(services.list()),
        store_counts=_counts_or_zero(buckets.counts),
    )
    return OscarApi(buckets=buckets, status=status)


def _counts_or_zero(counts: Callable[[], StoreCounts]) -> Callable[[], StoreCounts]:
    """Status still answers when the object store does not (OSCAR's leaves the counts at 0)."""

    def safe() -> StoreCounts:
        try:
            return counts()
        except StorageError:
            return StoreCounts(0, 0)

    return safe
