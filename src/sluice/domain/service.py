"""The service definition: OSCAR's FDL service, as JSON on the wire and YAML in FDL files.

Every field carries a description and a default; that is what ``/openapi.json`` shows. Input is
read leniently the way OSCAR's Go server reads it (see ``wire.py``); ``to_wire`` writes the types
that oscar-cli v1.12 decodes strictly (strings for quantities, string maps, scalar ``api_port``).
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from sluice.domain import federation
from sluice.domain.parts import (
    INPUT_TYPES,
    SUPPORTED_IO_TYPES,
    Cluster,
    Environment,
    Expose,
    MinIOProvider,
    MountPath,
    StoragePath,
    StorageProviders,
    Synchronous,
    Text,
    TextMap,
)
from sluice.domain.quantity import is_valid_cpu, is_valid_memory, parse_cpu, parse_memory
from sluice.domain.secrets import HIDDEN, hide
from sluice.domain.volume import ServiceVolume
from sluice.domain.wire import WireModel, error_location
from sluice.errors import Invalid

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
MAX_NAME_LENGTH = 39
LOG_LEVELS = ("NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TIMEOUT = 30 * 24 * 3600
MAX_ATTEMPTS = 100
MAX_SCRIPT_LENGTH = 1 << 20  # what a Kubernetes ConfigMap holds
# Written only when set, so OSCAR clients see no unfamiliar nulls.
OPTIONAL_EXTRAS = (
    "federation",
    "volume",
    "timeout",
    "max_attempts",
    "handler",
    "init",
    "python",
)
# Read to be refused, never written: OSCAR v3's federation.
INPUT_ONLY = ("replicas",)
ADMIN_OWNER_NAME = "oscar"


def oscar_labels(name: str) -> dict[str, str]:
    """The labels OSCAR sets on every service (its Kubernetes objects carry them)."""
    return {
        "oscar.grycap/user-service": "true",
        "oscar_service": name,
        "applicationId": name,
        "queue": f"root.oscar-queue.{name}",
        "owner_name": ADMIN_OWNER_NAME,
    }


class Service(WireModel):
    """A Sluice (OSCAR) service. Unknown fields are ignored; ``null`` means the default."""

    name: str = Field(..., description="1 to 39 characters: lower-case letters, digits and '-'.")
    cluster_id: str = Field("", description="Cluster the FDL deployed it to (set by clients).")
    memory: str = Field("256Mi", description="Memory per job, a Kubernetes quantity (256Mi, 1Gi).")
    cpu: Text = Field("0.2", description="CPU cores per job, a Kubernetes quantity (0.5, 500m).")
    total_memory: str = Field("", description="Memory cap for all jobs of the service together.")
    total_cpu: str = Field("", description="CPU cap for all jobs of the service together.")
    ephemeral_storage_request: str = Field("", description="Scratch disk requested per job.")
    enable_gpu: bool = Field(False, description="Give each job a GPU.")
    enable_sgx: bool = Field(False, description="Give each job an SGX enclave (Kubernetes only).")
    image_prefetch: bool = Field(False, description="Pull the image on every node ahead of time.")
    synchronous: Synchronous = Field(
        default_factory=Synchronous, description="Warm workers for `POST /run`."
    )
    federation: dict[str, Any] | None = Field(
        None,
        description="OSCAR v4 federation: `members` are replicas on other clusters that jobs "
        "are delegated to when this cluster has no room (`rescheduler_threshold` seconds).",
    )
    replicas: list[Any] = Field(
        default_factory=list,
        description="OSCAR v3 replicas: read into `federation.members`.",
    )
    log_level: str = Field("INFO", description="NOTSET, DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    image: str = Field("", description="Container image. Not needed by the local process runtime.")
    alpine: bool = Field(False, description="The image is Alpine-based (OSCAR supervisor choice).")
    token: str = Field("", description="Service token (64 hex). Generated; ignored on input.")
    file_stage_in: bool = Field(False, description="Do not download the input file for the job.")
    input: list[StoragePath] = Field(
        default_factory=list, description="Paths whose new files each start a job."
    )
    output: list[StoragePath] = Field(
        default_factory=list, description="Paths every file in $TMP_OUTPUT_DIR is uploaded to."
    )
    script: str = Field(
        "",
        max_length=MAX_SCRIPT_LENGTH,
        description="Shell script run for each job (text, not a path; at most 1,048,576 "
        "characters, as a ConfigMap holds in OSCAR). Required unless `handler` is set.",
    )
    image_pull_secrets: list[str] = Field(
        default_factory=list, description="Registry secrets to pull the image."
    )
    expose: Expose = Field(default_factory=Expose, description="Exposed (long-running) service.")
    environment: Environment = Field(
        default_factory=Environment, description="Environment variables and secrets of jobs."
    )
    annotations: TextMap = Field(default_factory=dict, description="Annotations copied to jobs.")
    vo: str = Field("", description="Virtual organisation (OIDC group).")
    labels: TextMap = Field(default_factory=dict, description="Labels copied to jobs.")
    storage_providers: StorageProviders = Field(
        default_factory=StorageProviders,
        description="Credentials of the providers the paths name; `minio.default` is Sluice's own.",
    )
    clusters: dict[str, Cluster] = Field(default_factory=dict, description="Other clusters.")
    owner: str = Field("", description="Who created it. Set by the server.")
    interlink_node_name: str = Field("", description="InterLink node (Kubernetes only).")
    visibility: str = Field("private", description="private, public or restricted.")
    allowed_users: list[str] = Field(default_factory=list, description="Users of a restricted one.")
    isolation_level: str = Field("", description="SERVICE or USER.")
    bucket_list: list[str] = Field(default_factory=list, description="Per-user buckets (USER).")
    mount: MountPath = Field(default_factory=MountPath, description="Bucket mounted under /mnt.")
    volume: ServiceVolume | None = Field(
        None, description="A managed volume to create (with `size`) or mount (by `name`)."
    )
    timeout: float | None = Field(
        None,
        gt=0,
        le=MAX_TIMEOUT,
        allow_inf_nan=False,
        description="Sluice: seconds a job may run before it is killed (at most 30 days).",
    )
    max_attempts: int | None = Field(
        None,
        ge=1,
        le=MAX_ATTEMPTS,
        description="Sluice: attempts per job before it becomes a dead letter.",
    )
    handler: str | None = Field(
        None,
        description="Sluice: a Python handler `package.module:function` run by warm workers "
        "instead of `script`; called as handler(input_path, output_dir).",
    )
    init: str | None = Field(
        None,
        description="Sluice: `package.module:function` run once per worker (load the model "
        "here); its result is passed to the handler as `state`.",
    )
    python: str | None = Field(
        None,
        description="Sluice: the Python interpreter (or a virtualenv's bin/python) that runs "
        "the handler; the one running Sluice if unset.",
    )
    pythonpath: list[str] = Field(
        default_factory=list,
        description="Sluice: folders added to the handler's import path (FDL-relative paths are "
        "resolved by the CLI).",
    )
    batch_size: int = Field(
        1, ge=1, le=1024, description="Sluice: file jobs handed to one handler call at most."
    )
    batch_wait_ms: int = Field(
        0, ge=0, le=60_000, description="Sluice: how long a partial batch waits for more jobs."
    )

    @property
    def cpu_cores(self) -> float:
        return parse_cpu(self.cpu)

    @property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not 1 <= len(value) <= MAX_NAME_LENGTH:
            raise ValueError(f"must be 1 to {MAX_NAME_LENGTH} characters long (got {len(value)})")
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a DNS label: use lower-case letters, digits and '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("memory")
    @classmethod
    def _check_memory(cls, value: str) -> str:
        if not is_valid_memory(value):
            raise ValueError(f"{value!r} is not a memory quantity such as 256Mi, 1Gi or 512M")
        if parse_memory(value) <= 0:
            raise ValueError("must be more than zero")
        return value

    @field_validator("cpu")
    @classmethod
    def _check_cpu(cls, value: str) -> str:
        if not is_valid_cpu(value):
            raise ValueError(f"{value!r} is not a CPU quantity such as 0.5, 1 or 500m")
        if parse_cpu(value) <= 0:
            raise ValueError("must be more than zero")
        return value

    @field_validator("log_level")
    @classmethod
    def _normalise_log_level(cls, value: str) -> str:
        value = value.strip().upper()
        return value if value in LOG_LEVELS else "INFO"

    @field_validator("script")
    @classmethod
    def _normalise_script(cls, value: str) -> str:
        return value.replace("\r\n", "\n")

    @field_validator("handler", "init")
    @classmethod
    def _check_entry_point(cls, value: str | None) -> str | None:
        if value is not None and not ENTRY_POINT.match(value.strip()):
            raise ValueError(f"{value!r} is not of the form 'package.module:function'")
        return value.strip() if value else None

    @model_validator(mode="after")
    def _check_script_or_handler(self) -> Self:
        if not self.handler and not self.script.strip():
            raise ValueError("script: is required (or set handler for a Python handler service)")
        return self

    @model_validator(mode="after")
    def _check_volume(self) -> Self:
        if self.volume is not None:
            self.volume = self.volume.normalised(self.name)
        return self

    @model_validator(mode="after")
    def _set_oscar_labels(self) -> Self:
        self.labels = {**self.labels, **oscar_labels(self.name)}
        return self

    @model_validator(mode="after")
    def _check_storage(self) -> Self:
        for field, paths in (("input", self.input), ("output", self.output)):
            for index, item in enumerate(paths):
                _check_path(self, f"{field}.{index}", item, is_input=field == "input")
        _check_no_self_trigger(self)
        return self


@dataclass(frozen=True)
class ServiceRecord:
    """A stored service with what the server adds: its token, owner and creation time."""

    service: Service
    token: str
    owner: str
    created_at: datetime


def _check_path(service: Service, where: str, item: StoragePath, *, is_input: bool) -> None:
    kind = item.provider_type
    allowed = INPUT_TYPES if is_input else SUPPORTED_IO_TYPES
    if kind not in allowed:
        raise ValueError(
            f"{where}.storage_provider: {kind!r} is not supported here; use one of "
            f"{', '.join(allowed)}"
        )
    if (
        item.storage_provider != "minio.default"
        and service.storage_providers.get(kind, item.provider_id) is None
    ):
        raise ValueError(
            f"{where}.storage_provider: {item.storage_provider!r} is not defined in "
            f"storage_providers.{kind}"
        )
    if kind in ("minio", "s3") and "/" not in item.path:
        item.path = f"{service.name}/{item.path}"
    if kind in ("minio", "s3") and not BUCKET_PATTERN.match(item.bucket):
        raise ValueError(
            f"{where}.path: {item.bucket!r} is not a valid bucket name: use 3 to 63 lower-case "
            "letters, digits, '.' and '-', starting and ending with a letter or digit"
        )


def _check_no_self_trigger(service: Service) -> None:
    for out in service.output:
        for inp in service.input:
            if out.feeds(inp):
                raise ValueError(
                    f"output path {out.path!r} lies inside input path {inp.path!r}: every "
                    "result would start another job of this service; use another folder"
                )


def parse_service(data: Any) -> Service:
    """Validate a service from decoded JSON/YAML; errors name every wrong field."""
    if not isinstance(data, dict):
        raise Invalid(f"a service must be a JSON object, not {type(data).__name__}")
    v3 = federation.from_v3(data)
    if v3 is not None and not (data.get("federation") or {}).get("members"):
        data = {**data, "federation": {**(data.get("federation") or {}), **v3}, "replicas": []}
    try:
        service = Service.model_validate(data)
    except ValidationError as exc:
        raise Invalid(describe_errors(exc, data.get("name"))) from None
    problem = unsupported(service)
    if problem:
        raise Invalid(f"invalid service {service.name!r}: {problem}")
    return service


def unsupported(service: Service) -> str:
    """What a new definition asks for that Sluice cannot do yet ("" if nothing): refused
    rather than stored and ignored. Definitions stored earlier still load."""
    if service.expose.api_port:
        return (
            f"expose.api_port: {service.expose.api_port} asks for an exposed service, which "
            "Sluice does not run yet; remove expose.api_port (or set it to 0)"
        )
    return "; ".join(federation.problems(service.federation, set(service.clusters)))


def describe_errors(exc: ValidationError, name: Any = None) -> str:
    lines = []
    for error in exc.errors():
        where = error_location(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        lines.append(f"{where}: {message}" if where else message)
    head = f"invalid service {name!r}: " if isinstance(name, str) and name else "invalid service: "
    return head + "\n".join(lines)


def to_wire(service: Service, minio_default: MinIOProvider) -> dict[str, Any]:
    """The JSON OSCAR returns for a service, with secrets hidden."""
    data = service.model_dump(mode="json", exclude={*OPTIONAL_EXTRAS, *INPUT_ONLY})
    hide(data)
    expose = data["expose"]
    for port in ("api_port", "nodePort"):
        if not expose[port]:
            del expose[port]
    hidden = minio_default.model_copy(update={"access_key": HIDDEN, "secret_key": HIDDEN})
    data["storage_providers"]["minio"]["default"] = hidden.model_dump(mode="json")
    for extra in OPTIONAL_EXTRAS:
        value = getattr(service, extra)
        if value is not None:
            data[extra] = _volume_wire(value) if extra == "volume" else value
    return data


def _volume_wire(volume: ServiceVolume) -> dict[str, Any]:
    """OSCAR's ServiceVolumeConfig JSON: ``name`` and ``lifecycle_policy`` only when set."""
    data = volume.model_dump(mode="json")
    return {k: v for k, v in data.items() if v or k in ("size", "mount_path")}
