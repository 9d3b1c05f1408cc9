"""Declarative settings for the Sluice manager. Every field can be set as ``SLUICE_<NAME>``."""

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_data_path
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sluice.domain.quantity import is_valid_memory, parse_memory


def default_data_dir() -> Path:
    """A system service's place when run as root (its jobs' user must reach it), else the
    user's own data folder."""
    if os.geteuid() == 0:
        return Path("/var/lib/sluice")
    return user_data_path("sluice", appauthor=False)


class Settings(BaseSettings):
    """How one Sluice manager runs. ``sluice up`` flags override these."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the manager's HTTP API binds to.")
    port: int = Field(8080, ge=0, le=65535, description="Port of the manager's HTTP API.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where state, logs, job folders and the embedded object store live.",
    )
    admin_user: str = Field("oscar", description="User name of the admin (HTTP Basic).")
    admin_password: SecretStr | None = Field(
        None, description="Admin password; generated on first start and kept in the data dir."
    )
    admin_password_file: Path | None = Field(
        None, description="A file holding the admin password (instead of admin_password)."
    )
    secret_key: SecretStr | None = Field(
        None, description="Key secrets are encrypted with at rest; kept in the data dir if unset."
    )
    database_url: str | None = Field(
        None,
        description="State database: sqlite:////path/to/sluice.db, or "
        "postgresql+psycopg://user:password@host:port/name (shared by several managers); "
        "SQLite in the data dir if unset.",
    )

    header_timeout: float = Field(
        10.0, gt=0, le=3600, description="Seconds a client has to send a request's headers."
    )

    # Object store. With no s3_endpoint, an embedded SeaweedFS is started and managed.
    s3_endpoint: str | None = Field(
        None, description="External S3-compatible endpoint; an embedded SeaweedFS if unset."
    )
    s3_access_key: str | None = Field(None, description="Access key of the external S3 store.")
    s3_secret_key: SecretStr | None = Field(None, description="Secret key of the external store.")
    s3_region: str = Field("us-east-1", description="Region reported to clients.")
    s3_verify: bool = Field(True, description="Verify TLS certificates of the S3 endpoint.")
    s3_port: int = Field(8333, ge=0, le=65535, description="Port of the embedded object store.")
    store_webhook_token: SecretStr | None = Field(
        None,
        description="Bearer token a SeaweedFS filer's webhook sends to /events/seaweedfs, also "
        "for an external store (the Helm chart's StatefulSet); generated at each start if unset.",
    )

    allowed_endpoints: str = Field(
        "",
        description="Comma-separated hosts, host:port or URLs that services' storage providers "
        "and clusters may name; any when empty.",
    )

    # Where jobs run.
    runtime: Literal["process", "container", "kubernetes"] = Field(
        "process",
        description="process: scripts run on this machine; container: services that name an "
        "image run in containers of it (Docker Engine API); kubernetes: jobs as Kubernetes "
        "Jobs, synchronous services as Deployments.",
    )
    scratch_dir: Path | None = Field(
        None,
        description="Where running jobs and calls keep their folders (input, output, log) "
        "until they end; under the data dir if unset. A tmpfs folder (/dev/shm/sluice) spares "
        "the disk and makes small jobs faster; their files then take memory.",
    )
    sandbox: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Run process-runtime jobs under bubblewrap: auto (when installed), on, off.",
    )
    job_user: str | None = Field(
        None,
        description="Unprivileged user sandboxed jobs run as when Sluice runs as root "
        "(sluice-job, created if missing, when unset).",
    )
    container_host: str | None = Field(
        None,
        description="The container engine's API (unix:///run/podman/podman.sock, "
        "tcp://127.0.0.1:2375); DOCKER_HOST if unset, else a podman service Sluice starts.",
    )
    image_pull: Literal["never", "missing", "always"] = Field(
        "missing", description="When the container runtime pulls a service's image."
    )
    kubeconfig: Path | None = Field(
        None,
        description="Kubeconfig of the cluster (kubernetes runtime); the in-cluster config "
        "if unset and running in a pod, else ~/.kube/config.",
    )
    k8s_namespace: str = Field(
        "sluice-svc", description="Namespace of services' Jobs, Deployments and Secrets."
    )
    k8s_storage_class: str | None = Field(
        None,
        description="Storage class of managed volumes' PersistentVolumeClaims (kubernetes "
        "runtime); the cluster's default if unset.",
    )
    job_s3_endpoint: str | None = Field(
        None,
        description="The object store's address as pods see it (http://10.252.0.1:8333); the "
        "embedded store also listens there. The store's own endpoint if unset.",
    )
    supervisor_image: str = Field(
        "localhost/sluice/sluice:latest",
        description="Image of the supervisor that stages a pod's files (kubernetes runtime).",
    )
    container_network: str = Field(
        "none", description="Network of job containers: none, or an engine network (bridge)."
    )

    # Jobs.
    max_attempts: int = Field(3, ge=1, description="Attempts per job before it is a dead letter.")
    retry_backoff: float = Field(2.0, ge=0, description="Seconds before the first retry; doubles.")
    default_timeout: float = Field(300.0, gt=0, description="Job timeout when a service sets none.")
    reconcile_interval: float = Field(
        30.0, gt=0, description="Seconds between scans of input paths for missed uploads."
    )
    worker_idle_timeout: float = Field(
        60.0, gt=0, description="Seconds an idle handler worker above min_scale is kept warm."
    )
    max_waiting_calls: int = Field(
        64, ge=0, le=100_000, description="/run calls of one service that may wait for room."
    )
    max_running_calls: int = Field(
        64, ge=1, le=10_000, description="/run calls the manager serves at once, all services."
    )
    max_body: str = Field(
        "1Gi", description="Largest /run or /job request body, e.g. 256Mi (413 beyond it)."
    )
    min_free_disk: str = Field(
        "64Mi", description="Free space the data disk needs for new jobs to start."
    )
    log_cap: int = Field(1_048_576, ge=1024, description="Bytes of log kept per job.")
    total_cpu: float | None = Field(None, gt=0, description="CPU cores for jobs; all if unset.")
    total_memory: str | None = Field(None, description="Memory for jobs, e.g. 8Gi; all if unset.")

    @field_validator("max_body", "total_memory", "min_free_disk")
    @classmethod
    def _check_quantity(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_memory(value):
            raise ValueError(f"{value!r} is not a size such as 512Mi or 2Gi")
        return value

    def admin_password_value(self) -> str | None:
        """The configured admin password, read from its file when one is named."""
        if self.admin_password_file is not None:
            try:
                return self.admin_password_file.read_text().strip() or None
            except OSError as exc:
                raise ValueError(
                    f"admin_password_file {self.admin_password_file}: {exc.strerror}"
                ) from exc
        return self.admin_password.get_secret_value() if self.admin_password else None

    @property
    def max_body_bytes(self) -> int:
        return parse_memory(self.max_body)

    @property
    def min_free_disk_bytes(self) -> int:
        return parse_memory(self.min_free_disk)

    # How Sluice presents itself to OSCAR clients (OSCAR's OSCAR_NAME, OSCAR_NAMESPACE, ...).
    cluster_name: str = Field("oscar", description="Cluster name reported in /system/config.")
    namespace: str = Field("oscar", description="Namespace of the manager in /system/config.")
    services_namespace: str = Field(
        "oscar-svc", description="Namespace reported for services and their jobs."
    )
    execution_log_days: float = Field(
        30.0, gt=0, description="Days /run and /job calls are kept for /system/logs and metrics."
    )

    # Browsers: origins allowed to call the API (and the embedded object store) cross-origin.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed cross-origin, or * for any; none if unset.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sluice.db'}"
