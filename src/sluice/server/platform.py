"""The composition root: builds every long-lived part of a running Sluice from its settings."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sluice.backends.registry import get_backend
from sluice.core.capacity import Capacity
from sluice.core.handlers import HandlerPools
from sluice.core.invocations import Invocations
from sluice.core.jobs import JobService
from sluice.core.services import ServiceManager
from sluice.core.storage import StorageResolver
from sluice.core.workflows import check_no_cycle
from sluice.domain.parts import MinIOProvider
from sluice.domain.quantity import parse_memory
from sluice.domain.service import Service
from sluice.server.admin import AdminCredentials, load_admin
from sluice.settings import Settings
from sluice.state.database import open_database
from sluice.state.jobs import JobLedger
from sluice.state.services import ServiceStore
from sluice.supervisor.run import JobRunner
from sluice.supervisor.sync import ScriptInvoker
from sluice.triggers.reconcile import Reconciler
from sluice.triggers.router import EventRouter

log = logging.getLogger(__name__)

WATCHDOG_INTERVAL = 5.0


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
    handlers: HandlerPools
    webhook_token: str = ""
    store_watchdog: Callable[[], bool] | None = None
    started_at: float = field(default_factory=time.time)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start background work: job dispatch, reconciliation, object-store supervision."""
        self.jobs.start()
        self.reconciler.start()
        if self.store_watchdog is not None:
            threading.Thread(target=self._watch_store, name="store-watchdog", daemon=True).start()

    def stop(self) -> None:
        """Stop background work; running jobs are resumed on the next start."""
        self._stop.set()
        self.reconciler.stop()
        self.jobs.stop()
        self.handlers.close()

    def _watch_store(self) -> None:
        assert self.store_watchdog is not None
        while not self._stop.wait(WATCHDOG_INTERVAL):
            try:
                if self.store_watchdog():
                    log.warning("the embedded object store had stopped; restarted it")
            except Exception:
                log.exception("cannot restart the embedded object store")


def build_platform(
    settings: Settings,
    object_store: MinIOProvider,
    webhook_token: str = "",
    store_watchdog: Callable[[], bool] | None = None,
) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    admin = load_admin(settings.admin_user, password, settings.data_dir)
    database = open_database(settings.effective_database_url)
    storage = StorageResolver(object_store)
    ledger = JobLedger(database)
    services = ServiceManager(ServiceStore(database), preparers=[storage.prepare])
    capacity = Capacity(
        settings.total_cpu,
        parse_memory(settings.total_memory) if settings.total_memory else None,
    )
    backend = get_backend(settings.runtime)
    runner = JobRunner(
        settings.data_dir / "jobs",
        backend,
        storage,
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
    )
    handlers = HandlerPools(
        capacity,
        storage,
        settings.data_dir / "workers",
        log_cap=settings.log_cap,
        idle_timeout=settings.worker_idle_timeout,
    )
    services.add_preparer(
        lambda service: check_no_cycle(service, lambda: [r.service for r in services.list()])
    )
    services.add_preparer(handlers.check)
    services.add_listener(handlers.on_change)
    jobs = JobService(
        ledger,
        services,
        runner,
        capacity,
        handlers,
        max_attempts=settings.max_attempts,
        retry_backoff=settings.retry_backoff,
        default_timeout=settings.default_timeout,
    )

    def forget_deleted(old: Service | None, new: Service | None) -> None:
        if old is not None and new is None:
            ledger.forget_service(old.name)

    services.add_listener(forget_deleted)
    router = EventRouter(services, jobs)
    reconciler = Reconciler(services, storage, ledger, router, settings.reconcile_interval)
    scripts = ScriptInvoker(settings.data_dir / "runs", backend, storage, settings.log_cap)
    invocations = Invocations(services, capacity, scripts, handlers, settings.default_timeout)
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
        handlers=handlers,
        webhook_token=webhook_token,
        store_watchdog=store_watchdog,
    )
