"""How a service's work is run here, built from the settings: script services on a runtime
(a local process, sandboxed when bubblewrap is there, or a container of the service's image),
handler services on warm workers (the same places), managed volumes mounted into both."""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.capacity import Capacity, ReclaimingCapacity
from sluice.datadir import DataDir
from sluice.domain.parts import MinIOProvider
from sluice.domain.service import Service
from sluice.errors import Invalid
from sluice.execution.base import Executor
from sluice.execution.by_kind import ByKind
from sluice.execution.handler import HandlerExecutor, HostFor, LocalWorkerHost
from sluice.execution.script import RuntimeFor, ScriptExecutor
from sluice.runtimes.base import Mount
from sluice.runtimes.process import ProcessRuntime, end_leftovers
from sluice.runtimes.sandbox import Sandbox, find_sandbox, open_for
from sluice.settings import Settings
from sluice.storage.resolver import StorageResolver

if TYPE_CHECKING:
    from sluice.core.volumes import VolumePlace
    from sluice.runtimes.container import ContainerEngine

log = logging.getLogger(__name__)


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
    sandbox = find_sandbox(settings.sandbox, data.hidden, settings.job_user)
    if sandbox is not None and sandbox.user is not None:
        open_for(sandbox.user, data.root, (data.volumes,))
        open_for(sandbox.user, data.scratch or data.root, (data.jobs, data.runs, data.workers))
    if sandbox is not None:
        log.info("jobs run sandboxed (bubblewrap) as %s", _who(sandbox))
    volumes = VolumeMounts(data.volumes, sandbox)
    capacity = ReclaimingCapacity(capacity)  # idle warm workers give way to waiting work
    if engine is None:
        places = _local_places(sandbox, volumes)
    else:
        places = _container_places(engine, sandbox, volumes)
    script = ScriptExecutor(
        capacity,
        storage,
        places.runtime_for,
        data,
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
        advise=places.advise,
        mounts_for=volumes,
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
    capacity.add_reclaimer(handler.shed_idle)
    return ByKind(script, handler)


@dataclass(frozen=True)
class _Places:
    """Where a service's work runs, by service."""

    runtime_for: RuntimeFor
    host_for: HostFor
    advise: Callable[[Service], list[str]]


def _who(sandbox: Sandbox) -> str:
    return sandbox.user.name if sandbox.user is not None else "Sluice's own user"


class VolumeMounts:
    """A service's managed volume as a mount: its folder at the service's ``mount_path``,
    writable by whoever the service's jobs run as."""

    def __init__(self, root: Path, sandbox: Sandbox | None) -> None:
        self._root = root
        self._sandbox = sandbox

    def __call__(self, service: Service) -> tuple[Mount, ...]:
        volume = service.volume
        if volume is None or not volume.name:
            return ()
        folder = self._root / volume.name
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._sandbox is not None and self._sandbox.user is not None:
            os.chown(folder, self._sandbox.user.uid, self._sandbox.user.gid)
        return (Mount(folder, target=Path(volume.mount_path)),)


def _local_places(sandbox: Sandbox | None, volumes: VolumeMounts) -> _Places:
    runtime = ProcessRuntime(sandbox)
    host = LocalWorkerHost(sandbox, volumes)

    def advise(service: Service) -> list[str]:
        if service.volume is not None and sandbox is None:
            raise Invalid(
                "volume: the process runtime mounts volumes only in its sandbox: install "
                "bubblewrap (SLUICE_SANDBOX=auto or on), or use --runtime container"
            )
        if not service.image:
            return []
        return [
            f"image: {service.image!r} is not used: the process runtime runs the script on "
            "this machine, so the tools it calls must be installed here; start Sluice with "
            "`--runtime container` (SLUICE_RUNTIME=container) to run it in its image"
        ]

    return _Places(lambda _s: runtime, lambda _s: host, advise)


def _container_places(
    engine: "ContainerEngine", sandbox: Sandbox | None, volumes: VolumeMounts
) -> _Places:
    from sluice.execution.container_workers import ContainerWorkerHost
    from sluice.runtimes.container import ContainerRuntime

    process, local = ProcessRuntime(sandbox), LocalWorkerHost(sandbox, volumes)
    container, in_container = ContainerRuntime(engine), ContainerWorkerHost(engine, volumes)
    return _Places(
        lambda service: container if service.image else process,
        lambda service: in_container if service.image else local,
        lambda service: engine.advice(service.image) if service.image else [],
    )


def build_kubernetes_executor(
    settings: Settings, object_store: MinIOProvider
) -> tuple[Executor, Capacity, "VolumePlace"]:
    """``SLUICE_RUNTIME=kubernetes``: Jobs and Deployments on the cluster, its capacity, and
    PersistentVolumeClaims for managed volumes."""
    from sluice.execution.kubernetes import build_kubernetes
    from sluice.execution.kubernetes.build import KubernetesConfig

    endpoint = settings.job_s3_endpoint or object_store.endpoint
    config = KubernetesConfig(
        kubeconfig=settings.kubeconfig,
        namespace=settings.k8s_namespace,
        supervisor_image=settings.supervisor_image,
        pull=settings.image_pull,
        job_store=object_store.model_copy(update={"endpoint": endpoint}),
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
        idle_timeout=settings.worker_idle_timeout,
        storage_class=settings.k8s_storage_class,
    )
    return build_kubernetes(config)
