"""The parts a service definition is made of: storage paths, providers, scaling, environment."""

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from sluice.domain.wire import WireModel

PROVIDER_TYPES = ("minio", "s3", "onedata", "webdav", "rucio")
SUPPORTED_IO_TYPES = ("minio", "s3", "webdav")
INPUT_TYPES = ("minio", "webdav")
DEFAULT_PROVIDER = "minio.default"
# Kubernetes' rule for environment variable names (a shell's is stricter: no '-' or '.').
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
MAX_SCALE = 1000
MAX_PORT = 65535


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _text_map(value: Any) -> Any:
    """YAML turns ``PORT: 80`` into a number; OSCAR maps are string to string."""
    if isinstance(value, dict):
        return {str(k): _scalar_text(v) for k, v in value.items() if v is not None}
    return value


def _first_port(value: Any) -> Any:
    """``api_port``/``nodePort`` are scalars up to OSCAR v4.0 and lists since v4.1."""
    if isinstance(value, list):
        return value[0] if value else 0
    return value


TextMap = Annotated[dict[str, str], BeforeValidator(_text_map)]
Text = Annotated[str, BeforeValidator(_scalar_text)]
Port = Annotated[int, BeforeValidator(_first_port)]


class StoragePath(WireModel):
    """One input or output: a path in a storage provider, with optional name filters."""

    storage_provider: str = Field(
        DEFAULT_PROVIDER,
        description="Provider as `type.id` (`minio.default`, `s3.aws`, `webdav.dcache`); "
        "a bare type means its `default` id.",
    )
    path: str = Field(..., description="`bucket/folder`; the first segment is the bucket.")
    suffix: list[str] = Field(
        default_factory=list, description="Only files ending in one of these."
    )
    prefix: list[str] = Field(
        default_factory=list, description="Only files whose name starts with one of these."
    )

    @field_validator("storage_provider")
    @classmethod
    def _normalise_provider(cls, value: str) -> str:
        value = value.strip() or DEFAULT_PROVIDER
        kind, _, ident = value.partition(".")
        kind = kind.lower()
        if kind not in PROVIDER_TYPES:
            raise ValueError(
                f"unknown provider type {kind!r}; use one of {', '.join(PROVIDER_TYPES)}"
            )
        return f"{kind}.{ident or 'default'}"

    @field_validator("path")
    @classmethod
    def _trim_path(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value:
            raise ValueError("path must not be empty")
        return value

    @property
    def provider_type(self) -> str:
        return self.storage_provider.partition(".")[0]

    @property
    def provider_id(self) -> str:
        return self.storage_provider.partition(".")[2]

    @property
    def bucket(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def folder(self) -> str:
        return self.path.split("/", 1)[1] if "/" in self.path else ""

    def feeds(self, watch: "StoragePath") -> bool:
        """Whether files written to this output can land where ``watch`` starts jobs."""
        same_place = self.storage_provider == watch.storage_provider and (
            self.path == watch.path or self.path.startswith(watch.path + "/")
        )
        if not same_place:
            return False
        if watch.suffix and self.suffix:
            return any(o.endswith(i) for o in self.suffix for i in watch.suffix)
        return True

    def accepts(self, name: str) -> bool:
        """Whether a file name (relative to the folder) passes the prefix and suffix filters."""
        base = name.rsplit("/", 1)[-1]
        prefix_ok = not self.prefix or any(
            base.startswith(p) or name.startswith(p) for p in self.prefix
        )
        suffix_ok = not self.suffix or any(name.endswith(s) for s in self.suffix)
        return prefix_ok and suffix_ok


class MountPath(WireModel):
    storage_provider: str = Field("", description="Provider of the mounted bucket.")
    path: str = Field("", description="Bucket path mounted under /mnt in the job.")


class Synchronous(WireModel):
    min_scale: int = Field(
        0, ge=0, le=MAX_SCALE, description="Warm workers kept for synchronous calls."
    )
    max_scale: int = Field(
        0, ge=0, le=MAX_SCALE, description="Most workers; 0 means machine capacity."
    )


class Expose(WireModel):
    min_scale: int = Field(
        0, ge=0, le=MAX_SCALE, description="Replicas of an exposed service (not run by Sluice)."
    )
    max_scale: int = Field(
        0, ge=0, le=MAX_SCALE, description="Most replicas of an exposed service."
    )
    api_port: Port = Field(
        0, ge=0, le=MAX_PORT, description="Port an exposed service listens on; 0 = not exposed."
    )
    cpu_threshold: int = Field(
        0, ge=0, le=100, description="CPU percentage that scales an exposed service."
    )
    rewrite_target: bool = Field(False, description="Rewrite exposed paths to the root.")
    nodePort: Port = Field(0, ge=0, le=MAX_PORT, description="Node port of an exposed service.")
    default_command: bool = Field(False, description="Use the image's own command.")
    set_auth: bool = Field(False, description="Protect the exposed service with Basic auth.")
    health_path: str = Field("", description="Health check path of an exposed service.")


class Environment(WireModel):
    variables: TextMap = Field(default_factory=dict, description="Environment variables of jobs.")
    secrets: TextMap = Field(
        default_factory=dict, description="Secret variables; stored, never returned."
    )

    @field_validator("variables", "secrets")
    @classmethod
    def _check_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.fullmatch(name):
                shown = repr(name) if len(name) <= 40 else repr(name[:37]) + "..."
                raise ValueError(
                    f"{shown} is not a valid environment variable name: use letters, digits, "
                    "'_', '-' and '.', not starting with a digit"
                )
        return value


class MinIOProvider(WireModel):
    endpoint: str = Field("", description="S3 endpoint URL.")
    verify: bool = Field(True, description="Verify TLS certificates.")
    access_key: str = Field("", description="Access key.")
    secret_key: str = Field("", description="Secret key.")
    region: str = Field("us-east-1", description="Region.")


class S3Provider(WireModel):
    access_key: str = Field("", description="AWS access key.")
    secret_key: str = Field("", description="AWS secret key.")
    region: str = Field("us-east-1", description="AWS region.")


class WebDAVProvider(WireModel):
    hostname: str = Field("", description="Host name; https:// is assumed without a scheme.")
    login: str = Field("", description="User name.")
    password: str = Field("", description="Password.")


class StorageProviders(WireModel):
    minio: dict[str, MinIOProvider] = Field(
        default_factory=dict, description="S3-compatible stores."
    )
    s3: dict[str, S3Provider] = Field(default_factory=dict, description="AWS S3 accounts.")
    onedata: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Onedata spaces.")
    webdav: dict[str, WebDAVProvider] = Field(default_factory=dict, description="WebDAV servers.")
    rucio: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Rucio accounts.")

    def get(self, kind: str, ident: str) -> WireModel | dict[str, Any] | None:
        providers: dict[str, Any] = getattr(self, kind, {})
        return providers.get(ident)


class Cluster(WireModel):
    endpoint: str = Field("", description="Manager URL of the cluster.")
    auth_user: str = Field("", description="Basic auth user.")
    auth_password: str = Field("", description="Basic auth password.")
    ssl_verify: bool = Field(True, description="Verify TLS certificates.")
