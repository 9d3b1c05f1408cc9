"""The composition root: builds every long-lived part of a running Sluice from its settings."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sluice.admin import AdminCredentials, load_admin
from sluice.capacity import Capacity, MachineCapacity
from sluice.core.dispatcher import Dispatcher
from sluice.core.endpoints import EndpointPolicy
from sluice.core.invocations import Invocations
from sluice.core.job_events import JobEvents
from sluice.core.jobs import JobService
from sluice.core.services import ServiceManager
from sluice.core.workflows import check_no_cycle
from sluice.crypto import SecretBox
from sluice.datadir import DataDir
from sluice.diskspace import DiskGuard
from sluice.domain.parts import MinIOProvider
from sluice.domain.quantity import parse_memory
from sluice.domain.service import Service
from sluice.errors import Invalid
from sluice.execution.base import Executor
from sluice.execution.by_kind import ByKind
from sluice.execution.handler import HandlerExecutor, HostFor, LocalWorkerHost
from sluice.execution.script import RuntimeFor, ScriptExecutor
from sluice.runtimes.process import ProcessRuntime, end_leftovers
from sluice.runtimes.sandbox import Sandbox, find_sandbox, open_for
from sluice.settings import Settings
from sluice.state.database import open_database
from sluice.state.jobs import JobLedger
from sluice.state.services import ServiceStore
from sluice.storage.base import StorageProvider
from sluice.storage.resolver import StorageResolver
from sluice.supervision import Loops, Supervised
from sluice.triggers.reconcile import Reconciler
from sluice.triggers.router import EventRouter

if TYPE_CHECKING:
    from sluice.runtimes.container import ContainerEngine

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
    executor: Executor
    loops: Loops
    webhook_token: str = ""
    store_watchdog: Callable[[], bool] | None = None
    started_at: float = field(default_factory=time.time)
    _watchdog: Supervised | None = None

    def start(self) -> None:
        """Start background work: job dispatch, reconciliation, object-store supervision."""
        self.jobs.start()
        self.reconciler.start()
        if self.store_watchdog is not None:
            self._watchdog = self.loops.add(Supervised("store-watchdog", self._watch_store))
            self._watchdog.start()

    def stop(self) -> None:
        """Stop background work; running jobs are resumed on the next start."""
        if self._watchdog is not None:
            self._watchdog.stop()
        self.reconciler.stop()
        self.jobs.stop()
        self.executor.close()

    def _watch_store(self) -> float:
        assert self.store_watchdog is not None
        if self.store_watchdog():
            log.warning("the embedded object store had stopped; restarted it")
        return WATCHDOG_INTERVAL


def build_executor(
    settings: Settings,
    capacity: Capacity,
    storage: StorageResolver,
    data: DataDir,
    engine: "ContainerEngine | None" = None,
) -> Executor:
    """Script services run their script on a runtime, handler services on warm workers; with
    a container engine, services that name an image run in containers of it."""
    leftovers = sum(end_leftovers(folder) for folder in (data.jobs, data.runs) if folder.is_dir())
    if leftovers:
        log.warning("ended %d job process tree(s) a crashed Sluice left running", leftovers)
    sandbox = find_sandbox(settings.sandbox, data.root, settings.job_user)
    if sandbox is not None and sandbox.user is not None:
        open_for(sandbox.user, data.root, (data.jobs, data.runs, data.workers))
    if sandbox is not None:
        log.info("jobs run sandboxed (bubblewrap) as %s", _who(sandbox))
    places = _local_places(sandbox) if engine is None else _container_places(engine, sandbox)
    script = ScriptExecutor(
        capacity,
        storage,
        places.runtime_for,
        data,
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
        advise=places.advise,
    )
    handler = HandlerExecutor(
        capacity,
        storage,
        places.host_for,
        data,
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
        idle_timeout=settings.worker_idle_timeout,
    )
    return ByKind(script, handler)


@dataclass(frozen=True)
class _Places:
    """Where a service's work runs, by service."""

    runtime_for: RuntimeFor
    host_for: HostFor
    advise: Callable[[Service], list[str]]


def _who(sandbox: Sandbox) -> str:
    return sandbox.user.name if sandbox.user is not None else "Sluice's own user"


def _local_places(sandbox: Sandbox | None) -> _Places:
    runtime, host = ProcessRuntime(sandbox), LocalWorkerHost(sandbox)

    def advise(service: Service) -> list[str]:
        if not service.image:
            return []
        return [
            f"image: {service.image!r} is not used: the process runtime runs the script on "
            "this machine, so the tools it calls must be installed here; start Sluice with "
            "`--runtime container` (SLUICE_RUNTIME=container) to run it in its image"
        ]

    return _Places(lambda _s: runtime, lambda _s: host, advise)


def _container_places(engine: "ContainerEngine", sandbox: Sandbox | None) -> _Places:
    from sluice.execution.container_workers import ContainerWorkerHost
    from sluice.runtimes.container import ContainerRuntime

    process, local = ProcessRuntime(sandbox), LocalWorkerHost(sandbox)
    container, in_container = ContainerRuntime(engine), ContainerWorkerHost(engine)
    return _Places(
        lambda service: container if service.image else process,
        lambda service: in_container if service.image else local,
        lambda service: engine.advice(service.image) if service.image else [],
    )


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
) -> Platform:
    """``store`` (a provider for ``object_store``), ``executor`` and ``capacity`` replace the
    real ones, for in-process tests."""
    data = DataDir(settings.data_dir)
    data.root.mkdir(parents=True, exist_ok=True)
    try:
        password = settings.admin_password_value()
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    admin = load_admin(settings.admin_user, password, data.admin_password)
    database = open_database(settings.effective_database_url)
    storage = StorageResolver(object_store, store)
    ledger = JobLedger(database, data.payloads)
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    store_of_services = ServiceStore(database, SecretBox.load(key, data.secret_key))
    store_of_services.seal_all()
    services = ServiceManager(store_of_services, preparers=[storage.prepare])
    if capacity is None:
        memory = parse_memory(settings.total_memory) if settings.total_memory else None
        capacity = MachineCapacity(settings.total_cpu, memory)
    if executor is None:
        executor = build_executor(settings, capacity, storage, data, engine)
    services.add_checker(lambda service: check_no_cycle(service, services.all_definitions))
    services.add_checker(EndpointPolicy(settings.allowed_endpoints.split(",")).check)
    services.add_checker(executor.check)
    services.add_listener(executor.service_changed)
    events = JobEvents()
    disk = DiskGuard(data.root, settings.min_free_disk_bytes)
    dispatcher = Dispatcher(ledger, services, executor, settings.retry_backoff, events, disk)
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
        webhook_token=webhook_token,
        store_watchdog=store_watchdog,
    )
