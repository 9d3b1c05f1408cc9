"""The container runtime: a command runs in a container of the service's image, through the
Docker Engine API (Docker, or podman's compatible service), with the engine enforcing memory
and CPU.

The container sees only the folders its spec mounts (a job's own folder, at the same path as on
the host), no network unless ``network`` says otherwise, and the image's own ``PATH``. It is
removed when it ends, whatever happened; containers a crashed manager left behind are found by
their labels and removed when the runtime starts.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from requests.exceptions import RequestException

from sluice.domain.quantity import format_memory
from sluice.errors import BackendError, Invalid
from sluice.procs import KILL_GRACE
from sluice.runtimes.base import Outcome, ProcessSpec, RunResult

log = logging.getLogger(__name__)

API_VERSION = "1.41"  # podman 4.3's compatible API; every Docker engine since 20.10 speaks it
INSTANCE_LABEL = "sluice.instance"
OOM_EXIT = 137  # SIGKILL: what a container killed by its memory limit exits with
CHECK_EVERY = 0.1  # seconds between looks at cancel and the deadline while a container runs


class PullPolicy(StrEnum):
    NEVER = "never"  # only images already in the engine run
    MISSING = "missing"  # pull an image the engine does not have
    ALWAYS = "always"  # pull before every run


@dataclass(frozen=True)
class EngineConfig:
    base_url: str  # unix:///run/podman/podman.sock, tcp://127.0.0.1:2375, ...
    pull: PullPolicy = PullPolicy.MISSING
    network: str = "none"  # the network mode of job containers
    instance: str = "sluice"  # labels this manager's containers, to find them after a crash


class ContainerEngine:
    """One Docker-API client, shared by the job runtime and the handler workers."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        try:
            self.client = docker.DockerClient(
                base_url=config.base_url, version=API_VERSION, timeout=60, max_pool_size=64
            )
            self.client.ping()
        except (docker.errors.DockerException, RequestException) as exc:
            raise BackendError(
                f"cannot reach the container engine at {config.base_url}: {exc}"
            ) from exc
        self._pulled: set[str] = set()
        self._lock = threading.Lock()

    def labels(self, extra: dict[str, str]) -> dict[str, str]:
        return {INSTANCE_LABEL: self.config.instance, **extra}

    def has_image(self, image: str) -> bool:
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        except (docker.errors.APIError, RequestException) as exc:
            raise BackendError(
                f"the container engine cannot look up image {image!r}: {exc}"
            ) from exc
        return True

    def ensure_image(self, image: str) -> None:
        """Make sure ``image`` is there to run, pulling it if the policy allows."""
        policy = self.config.pull
        if policy is PullPolicy.ALWAYS or (
            policy is PullPolicy.MISSING and not self.has_image(image)
        ):
            self._pull(image)
        elif policy is PullPolicy.NEVER and not self.has_image(image):
            raise BackendError(
                f"image {image!r} is not in the container engine, and SLUICE_IMAGE_PULL=never "
                "forbids pulling it: load or build it there first"
            )

    def _pull(self, image: str) -> None:
        log.info("pulling image %s", image)
        try:
            self.client.images.pull(image)
        except (docker.errors.APIError, RequestException) as exc:
            raise BackendError(f"cannot pull image {image!r}: {exc}") from exc

    def advice(self, image: str) -> list[str]:
        """Warnings for a service about to be saved with ``image``."""
        if self.config.pull is PullPolicy.NEVER and not self.has_image(image):
            return [
                f"image: {image!r} is not in the container engine and SLUICE_IMAGE_PULL=never: "
                "its jobs fail until the image is loaded there"
            ]
        return []

    def create(self, image: str, command: list[str], **options: Any) -> Container:
        self.ensure_image(image)
        try:
            return self.client.containers.create(image, command, **options)
        except docker.errors.ImageNotFound as exc:
            raise BackendError(f"image {image!r} is not in the container engine") from exc
        except (docker.errors.APIError, RequestException) as exc:
            raise BackendError(
                f"the container engine refused to create the container: {exc}"
            ) from exc

    def sweep(self) -> int:
        """Remove the containers a previous run of this manager left behind; how many."""
        try:
            # sparse: no inspect per container, which fails for one removed meanwhile
            found = self.client.containers.list(
                all=True,
                sparse=True,
                filters={"label": f"{INSTANCE_LABEL}={self.config.instance}"},
            )
        except (docker.errors.APIError, RequestException) as exc:
            log.warning("cannot list leftover containers: %s", exc)
            return 0
        for container in found:
            remove(container)
        return len(found)

    def close(self) -> None:
        self.client.close()


def remove(container: Container) -> None:
    with contextlib.suppress(docker.errors.APIError, RequestException):
        container.remove(force=True)


def stop(container: Container) -> None:
    """SIGTERM, then SIGKILL after the grace period."""
    with contextlib.suppress(docker.errors.APIError, RequestException):
        container.stop(timeout=int(KILL_GRACE))


def container_options(spec: ProcessSpec, network: str) -> dict[str, Any]:
    """The Docker API options for running ``spec``: its mounts, limits and environment."""
    env = {key: value for key, value in spec.env.items() if key != "PATH"}
    volumes = {
        str(mount.path): {"bind": str(mount.inside), "mode": "ro" if mount.read_only else "rw"}
        for mount in spec.mounts
    }
    options: dict[str, Any] = {
        "environment": env,
        "working_dir": str(spec.cwd),
        "volumes": volumes,
        "mem_limit": spec.limits.memory,
        "memswap_limit": spec.limits.memory,  # no swap: the limit is the limit
        "network_mode": network,
        "labels": spec.labels,
    }
    if spec.limits.cpu > 0:
        options["nano_cpus"] = int(spec.limits.cpu * 1e9)
    return options


class _LogWriter:
    """Streams a container's output into the job's log, keeping the first ``cap`` bytes."""

    def __init__(self, spec: ProcessSpec) -> None:
        try:
            self._file = spec.log_path.open("ab", buffering=0)
        except OSError as exc:
            raise BackendError(f"cannot write the job log: {exc.strerror}") from exc
        spec.log_path.chmod(0o600)
        self._cap = spec.log_cap
        self._written = 0
        self._dropped = 0

    def follow(self, chunks: Iterator[bytes]) -> None:
        with contextlib.suppress(docker.errors.APIError, RequestException, ValueError):
            for chunk in chunks:
                room = self._cap - self._written
                if room > 0:
                    self._file.write(chunk[:room])
                    self._written += min(room, len(chunk))
                self._dropped += max(0, len(chunk) - max(room, 0))

    def close(self) -> None:
        if self._dropped:
            note = (
                f"\n[sluice] log truncated: only the first {self._cap} bytes of output "
                f"are kept; {self._dropped} more bytes were dropped\n"
            )
            self._file.write(note.encode())
        self._file.close()


@dataclass
class _Ending:
    outcome: Outcome | None = None  # set when we ended it: timed out or cancelled
    reason: str = ""


class ContainerRuntime:
    """Runs each command in a fresh container of ``spec.image``; the engine enforces memory
    (an out-of-memory kill is reported as such) and CPU."""

    name = "container"

    def __init__(self, engine: ContainerEngine) -> None:
        self._engine = engine

    def run(self, spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult:
        if not spec.image:
            raise Invalid("the container runtime needs an image to run")
        if cancel is not None and cancel.is_set():
            return RunResult(Outcome.CANCELLED, None, "cancelled before start", 0.0, 0)
        started = time.monotonic()
        writer = _LogWriter(spec)
        container: Container | None = None
        try:
            options = container_options(spec, self._engine.config.network)
            options["labels"] = self._engine.labels(spec.labels)
            container = self._engine.create(spec.image, spec.argv, **options)
            return self._run(container, spec, writer, cancel, started)
        finally:
            if container is not None:
                remove(container)
            writer.close()

    def _run(
        self,
        container: Container,
        spec: ProcessSpec,
        writer: _LogWriter,
        cancel: threading.Event | None,
        started: float,
    ) -> RunResult:
        try:
            container.start()
        except (docker.errors.APIError, RequestException) as exc:
            raise BackendError(
                f"the container of image {spec.image!r} did not start: {exc}"
            ) from exc
        logs = container.logs(stream=True, follow=True, stdout=True, stderr=True)
        follower = threading.Thread(target=writer.follow, args=(logs,), daemon=True)
        follower.start()
        exit_code, ending = self._wait(container, spec, cancel, started)
        follower.join(KILL_GRACE)
        return _result(exit_code, ending, spec, time.monotonic() - started)

    def _wait(
        self,
        container: Container,
        spec: ProcessSpec,
        cancel: threading.Event | None,
        started: float,
    ) -> tuple[int | None, _Ending]:
        done = threading.Event()
        status: dict[str, Any] = {}

        def wait() -> None:
            try:
                status.update(container.wait())
            except (docker.errors.APIError, RequestException) as exc:
                status["error"] = str(exc)
            finally:
                done.set()

        threading.Thread(target=wait, daemon=True).start()
        ending = _Ending()
        timeout = spec.limits.timeout
        while not done.wait(CHECK_EVERY):
            if timeout is not None and time.monotonic() - started >= timeout:
                ending = _Ending(Outcome.TIMED_OUT, f"killed: timed out after {timeout:g} s")
            elif cancel is not None and cancel.is_set():
                ending = _Ending(Outcome.CANCELLED, "cancelled")
            if ending.outcome is not None:
                stop(container)
                done.wait(KILL_GRACE * 2)
                break
        if "error" in status and ending.outcome is None:
            raise BackendError(f"lost track of the container: {status['error']}")
        code = status.get("StatusCode")
        return (int(code) if isinstance(code, int) else None), ending


def _result(
    exit_code: int | None, ending: _Ending, spec: ProcessSpec, duration: float
) -> RunResult:
    if ending.outcome is not None:
        return RunResult(ending.outcome, exit_code, ending.reason, duration, 0)
    if exit_code == 0:
        return RunResult(Outcome.SUCCEEDED, 0, "exit code 0", duration, 0)
    if exit_code == OOM_EXIT:
        limit = format_memory(spec.limits.memory)
        reason = f"killed: exceeded the memory limit of {limit} (out of memory)"
        return RunResult(Outcome.OUT_OF_MEMORY, exit_code, reason, duration, 0)
    return RunResult(Outcome.FAILED, exit_code, f"exit code {exit_code}", duration, 0)
