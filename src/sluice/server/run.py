"""``serve``: start the object store and the manager, run until Ctrl-C or SIGTERM, stop cleanly."""

import logging
import os
import secrets
import signal
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, NoReturn

import uvicorn
from rich.console import Console

from sluice.api.app import create_app
from sluice.datadir import DataDir
from sluice.domain.parts import MinIOProvider
from sluice.errors import Conflict, SluiceError
from sluice.net import port_in_use
from sluice.server.http import GuardedHttpProtocol
from sluice.server.instance_lock import InstanceLock
from sluice.server.platform import Platform, build_platform
from sluice.settings import Settings

if TYPE_CHECKING:
    from sluice.runtimes.container import ContainerEngine

log = logging.getLogger(__name__)
console = Console(stderr=True, soft_wrap=True)
SHUTDOWN_GRACE = 10  # seconds


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO (each WebDAV transfer, each webhook of other clusters).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that would
    # end the process before the object store and the workers below are stopped.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    os.umask(0o077)  # everything Sluice writes (database, logs, job folders) is private
    lock = _check_can_start(settings)
    try:
        with ExitStack() as stack:
            stack.callback(lock.release)
            webhook_token = _webhook_token(settings)
            object_store, watchdog, store_down = _start_object_store(settings, stack, webhook_token)
            engine = _start_container_engine(settings, stack)
            platform = build_platform(
                settings,
                object_store,
                webhook_token,
                watchdog,
                engine=engine,
                extra_pauses=[store_down] if store_down else [],
            )
            app = create_app(platform)
            GuardedHttpProtocol.header_timeout = settings.header_timeout
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                http=GuardedHttpProtocol,
                timeout_keep_alive=5,
                # open streams (the web UI's live events) never end by themselves: at most this
                # long for requests in flight before a stop goes on without them
                timeout_graceful_shutdown=SHUTDOWN_GRACE,
            )
            server = uvicorn.Server(config)
            stack.callback(platform.stop)
            platform.start()
            _announce(platform)
            server.run()
    except SluiceError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(1) from None
    finally:
        console.print("Sluice stopped.")


def _check_can_start(settings: Settings) -> InstanceLock:
    """Fail before starting anything, with messages that say what to change; the data dir's
    lock, held from here on."""
    problems = []
    lock = InstanceLock(settings.data_dir)
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock.acquire(settings.host, settings.port)
        settings.data_dir.chmod(0o700)  # only once it is ours: a running Sluice set its own
    except OSError as exc:
        problems.append(
            f"data dir {settings.data_dir} is not writable ({exc.strerror}); "
            "pass --data-dir or set SLUICE_DATA_DIR"
        )
    except Conflict as exc:
        problems.append(str(exc))
    # The object store's port is checked when it starts: a stale store of our own is stopped.
    if port_in_use(settings.host, settings.port):
        problems.append(
            f"port {settings.port} on {settings.host} is in use; use another with --port"
        )
    if problems:
        lock.release()
        _refuse(*problems)
    return lock


def _refuse(*problems: str) -> NoReturn:
    for problem in problems:
        console.print(f"[red]error:[/] {problem}")
    raise SystemExit(1)


def _webhook_token(settings: Settings) -> str:
    """The token /events/seaweedfs accepts: the one set (an external SeaweedFS's filer sends
    it), else a new one that only the embedded store is given."""
    if settings.store_webhook_token:
        return settings.store_webhook_token.get_secret_value()
    return secrets.token_hex(16)


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _start_object_store(
    settings: Settings, stack: ExitStack, webhook_token: str
) -> tuple[MinIOProvider, Callable[[], bool] | None, Callable[[], str] | None]:
    """The S3 store jobs use, a callable that restarts it if it died, and one that says when
    it is down (both for the embedded store only)."""
    if settings.s3_endpoint:
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else ""
        external = MinIOProvider(
            endpoint=settings.s3_endpoint,
            verify=settings.s3_verify,
            access_key=settings.s3_access_key or "",
            secret_key=secret,
            region=settings.s3_region,
        )
        return external, None, None
    from sluice.storage.embedded import EmbeddedSeaweedFS

    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    manager = f"[{host}]" if ":" in host else host
    store = EmbeddedSeaweedFS(
        settings.data_dir,
        host=host,
        s3_port=settings.s3_port,
        # The manager listens on its own address (a site's, in a network namespace).
        webhook_url=f"http://{manager}:{settings.port}/events/seaweedfs",
        webhook_token=webhook_token,
        allowed_origins=settings.cors_origins,
    )
    console.print(f"Starting the embedded object store (SeaweedFS) on port {settings.s3_port}…")
    store.start()
    stack.callback(store.stop)
    if settings.runtime == "kubernetes" and settings.job_s3_endpoint:
        from sluice.execution.kubernetes.forward import Forwarder

        forwarder = Forwarder(settings.job_s3_endpoint, store.endpoint)
        forwarder.start()
        stack.callback(forwarder.stop)
    credentials = store.credentials
    embedded = MinIOProvider(
        endpoint=store.endpoint,
        verify=False,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        region=settings.s3_region,
    )

    def store_down() -> str:
        running = store.is_running()
        return "" if running else "the embedded object store is down (it is being restarted)"

    return embedded, store.ensure_running, store_down


def _start_container_engine(settings: Settings, stack: ExitStack) -> "ContainerEngine | None":
    """The engine the container runtime talks to: the one named, else a podman of our own."""
    if settings.runtime != "container":
        return None
    from sluice.runtimes.container import ContainerEngine, EngineConfig, PullPolicy
    from sluice.runtimes.podman import ManagedPodman

    data = DataDir(settings.data_dir)
    url = settings.container_host or os.environ.get("DOCKER_HOST")
    if not url:
        podman = ManagedPodman(data.engine_socket, data.engine_socket.with_suffix(".log"))
        console.print("Starting the container engine (podman system service)…")
        podman.start()
        stack.callback(podman.stop)
        url = podman.base_url
    network = settings.container_network
    config = EngineConfig(url, PullPolicy(settings.image_pull), network, data.instance)
    engine = ContainerEngine(config)
    stack.callback(engine.close)
    swept = engine.sweep()
    if swept:
        log.info("removed %d container(s) left by an earlier run", swept)
    return engine


def _announce(platform: Platform) -> None:
    settings, admin = platform.settings, platform.admin
    console.print(f"[bold green]Sluice is up[/] at http://{settings.host}:{settings.port}")
    console.print(f"  object store: {platform.object_store.endpoint}")
    console.print(f"  data dir:     {settings.data_dir}")
    console.print(f"  runtime:      {settings.runtime}")
    console.print(f"  admin user:   {admin.user}")
    if admin.generated:
        console.print(f"  admin password (shown once, kept in {admin.stored_at}): {admin.password}")
    elif admin.stored_at:
        console.print(f"  admin password: in {admin.stored_at}")
    console.print("Press Ctrl-C to stop.")
