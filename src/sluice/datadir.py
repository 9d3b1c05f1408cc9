"""The data dir's layout, spelled out once: everything a running Sluice keeps on disk."""

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path
    scratch: Path | None = None  # running jobs' and calls' folders, when not under ``root``

    @property
    def instance(self) -> str:
        """Names this Sluice among others on the machine (labels its containers)."""
        return hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]

    @property
    def hidden(self) -> tuple[Path, ...]:
        """What sandboxed jobs see empty: everything here but their own folder."""
        return (self.root, *([self.scratch] if self.scratch else []))

    @property
    def jobs(self) -> Path:
        """File jobs' folders while they run, each with its live log beside it."""
        return (self.scratch or self.root) / "jobs"

    def job_log(self, job_id: str) -> Path:
        return self.jobs / f"{job_id}.log"

    @property
    def runs(self) -> Path:
        """Synchronous calls' folders while they run."""
        return (self.scratch or self.root) / "runs"

    @property
    def workers(self) -> Path:
        """Warm handler workers' folders, one per service (with their calls in flight)."""
        return (self.scratch or self.root) / "workers"

    @property
    def payloads(self) -> Path:
        """Large ``/job`` bodies, one file per job, until the job no longer needs it."""
        return self.root / "payloads"

    @property
    def spool(self) -> Path:
        """Request bodies being received, before they are a job's payload or a call's input."""
        return self.root / "spool"

    @property
    def outbox(self) -> Path:
        """Output files waiting for another cluster's store (store-and-forward)."""
        return self.root / "outbox"

    @property
    def volumes(self) -> Path:
        """Managed volumes, one folder each, kept until the volume is deleted."""
        return self.root / "volumes"

    @property
    def database(self) -> Path:
        return self.root / "sluice.db"

    @property
    def secret_key(self) -> Path:
        """The key secrets are encrypted with at rest, unless SLUICE_SECRET_KEY gives one."""
        return self.root / "secret.key"

    @property
    def admin_password(self) -> Path:
        return self.root / "admin-password"

    @property
    def manager_name(self) -> Path:
        """This manager's name in the job ledger, made on the first start and kept."""
        return self.root / "manager-name"

    @property
    def engine_socket(self) -> Path:
        """The container engine's API socket, when Sluice starts the engine itself."""
        return self.root / "engine" / "podman.sock"
