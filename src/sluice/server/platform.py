"""The composition root: builds every long-lived part of a running Sluice from its settings."""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sluice.admin import AdminCredentials, load_admin
from sluice.capacity import Capacity, MachineCapacity
from sluice.core.continuum import Continuum, build_continuum
from sluice.core.dispatcher import Dispatcher, Pause
from sluice.core.endpoints import EndpointPolicy
from sluice.core.invocations import Invocations
from sluice.core.job_events import JobEvents
from sluice.core.jobs import JobService
from sluice.core.oscar_api import OscarApi
from sluice.core.services import ServiceManager
from sluice.core.volumes import VolumePlace
from sluice.core.workflows import check_no_cycle
from sluice.crypto import SecretBox
from sluice.datadir import DataDir
from sluice.diskspace import DiskGuard
from sluice.domain.parts import MinIOProvider
from sluice.domain.quantity import parse_memory
from sluice.domain.topology import store_name
from sluice.errors import Invalid
from sluice.execution.base import Executor
from sluice.server.executors import build_executor, build_kubernetes_executor
from sluice.server.oscar_api import build_oscar_api
from sluice.settings import Settings
from sluice.state.database import open_database
from sluice.state.jobs import JobLedger, new_owner
from sluice.state.services import ServiceStore
from sluice.storage.base import StorageProvider
from sluice.storage.resolver import StorageResolver
from sluice.supervision import Loops, Supervised
from sluice.triggers.reconcile import Reconciler
from sluice.triggers.router import EventRouter

if TYPE_CHECKING:
    from sluice.runtimes.container import ContainerEngine

log = logging.getLogger(__name__)

WATCHDOG_INTERVAL = 2.0  # seconds between looks at the embedded store
STALL = 4 * WATCHDOG_INTERVAL  # a longer gap between looks means this process was not running


@dataclass
class Platform:
    settings: Settings
    admin: AdminCredentials
    services: ServiceManager
    object_store: MinIOProvider
    storage: StorageResolver
    jobs: JobService
    router: EventRouter
    reconciler: Reconciler
    capacity: Capacity
    invocations: Invocations
    executor: Executor
    loops: Loops
    oscar: OscarApi
    continuum: Continuum
    webhook_token: str = ""
    store_watchdog: Callable[[], bool] | None = None
    started_at: float = field(default_factory=time.time)
    _watchdog: Supervised | None = None
    _last_watch: float = 0.0

    def start(self) -> None:
        """Start background work: job dispatch, reconciliation, object-store supervision."""
        # Parse every stored service once now, not in the first client's listing.
        threading.Thread(target=self.services.list, name="warm-services", daemon=True).start()
        self.jobs.start()
        self.continuum.start()
        self.reconciler.start()
        if self.store_watchdog is not None:
            self._watchdog = self.loops.add(Supervised("store-watchdog", self._watch_store))
            self._watchdog.start()

    def stop(self) -> None:
        """Stop background work; running jobs are resumed on the next start."""
        if self._watchdog is not None:
            self._watchdog.stop()
        self.reconciler.stop()
        self.continuum.stop()
        detach = getattr(self.executor, "detach", None)  # a cluster's Jobs outlive the manager
        if detach is not None:
            detach()
        self.jobs.stop()
        self.executor.close()
        self.oscar.executions.close()

    def _watch_store(self) -> float:
        assert self.store_watchdog is not None
        now = time.monotonic()
        stalled = now - self._last_watch if self._last_watch else 0.0
        self._last_watch = now
        if stalled > STALL:
            # Stopped, or starved of CPU: the store's webhooks may have given up on us.
            log.warning("the manager was stalled for %.0f s; looking for missed uploads", stalled)
            self.reconciler.scan_soon()
        if self.store_watchdog():
            # Events it had queued and not delivered died with it: look for their uploads now.
            log.warning("the embedded object store had stopped; restarted it")
            self.reconciler.scan_soon()
        return WATCHDOG_INTERVAL


def manager_name(data: DataDir) -> str:
    """This manager's name in a shared ledger, kept in its data dir: the same across restarts
    (also where the host name changes, as a container's does), so it takes back its own
    interrupted jobs at once; the data dir's lock keeps it the only one of that name."""
    path = data.manager_name
    try:
        name = path.read_text().strip()[:128]
    except FileNotFoundError:
        name = ""
    if not name:
        name = new_owner()
        path.write_text(name + "\n")
    return name


def build_platform(
    settings: Settings,
    object_store: MinIOProvider,
    webhook_token: str = "",
    store_watchdog: Callable[[], bool] | None = None,
    *,
    store: StorageProvider | None = None,
    executor: Executor | None = None,
    capacity: Capacity | None = None,
    engine: "ContainerEngine | None" = None,
    extra_pauses: Sequence[Pause] = (),
) -> Platform:
    """``store`` (a provider for ``object_store``), ``executor`` and ``capacity`` replace the
    real ones, for in-process tests; ``extra_pauses`` say when jobs cannot run (the embedded
    store is down)."""
    data = DataDir(settings.data_dir, settings.scratch_dir)
    data.root.mkdir(parents=True, exist_ok=True)
    if data.scratch is not None:
        data.scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        password = settings.admin_password_value()
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    admin = load_admin(settings.admin_user, password, data.admin_password)
    database = open_database(settings.effective_database_url)
    storage = StorageResolver(object_store, store)
    ledger = JobLedger(database, data.payloads, owner=manager_name(data))
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    store_of_services = ServiceStore(database, SecretBox.load(key, data.secret_key))
    store_of_services.seal_all()
    services = ServiceManager(store_of_services, preparers=[storage.prepare])
    volume_place: VolumePlace | None = None  # folders in the data dir
    if executor is None and settings.runtime == "kubernetes":
        executor, capacity, volume_place = build_kubernetes_executor(settings, object_store)
    if capacity is None:
        memory = parse_memory(settings.total_memory) if settings.total_memory else None
        capacity = MachineCapacity(settings.total_cpu, memory)
    if executor is None:
        executor = build_executor(settings, capacity, storage, data, engine)
    own_store = store_name(object_store.endpoint)
    services.add_checker(
        lambda service: check_no_cycle(service, services.all_definitions, own_store)
    )
    services.add_checker(EndpointPolicy(settings.allowed_endpoints.split(",")).check)
    services.add_checker(executor.check)
    services.add_listener(executor.service_changed)
    events = JobEvents()
    guarded = {data.root, *([data.scratch] if data.scratch else [])}
    guards = [DiskGuard(path, settings.min_free_disk_bytes).pause for path in sorted(guarded)]
    pauses = [*guards, *(extra_pauses or ())]
    continuum = build_continuum(database, storage, services, ledger, data.outbox)
    overflow = continuum.delegator.overflow
    dispatcher = Dispatcher(
        ledger, services, executor, settings.retry_backoff, events, pauses, overflow
    )
    jobs = JobService(
        ledger, dispatcher, executor, max_attempts=settings.max_attempts, events=events
    )
    services.add_listener(jobs.service_changed)
    router = EventRouter(services, jobs)
    reconciler = Reconciler(services, storage, ledger, router, settings.reconcile_interval)
    loops = Loops()
    loops.add(dispatcher.loop)
    loops.add(reconciler.loop)
    invocations = Invocations(
        services, executor, settings.default_timeout, settings.max_waiting_calls
    )
    started_at = time.time()
    oscar = build_oscar_api(
        settings,
        database,
        object_store,
        services,
        ledger,
        capacity,
        executor,
        started_at,
        volume_place,
    )
    return Platform(
        settings=settings,
        admin=admin,
        services=services,
        object_store=object_store,
        storage=storage,
        jobs=jobs,
        router=router,
        reconciler=reconciler,
        capacity=capacity,
        invocations=invocations,
        executor=executor,
        loops=loops,
        oscar=oscar,
        continuum=continuum,
        webhook_token=webhook_token,
        store_watchdog=store_watchdog,
        started_at=started_at,
    )
