"""The cluster configuration file, shaped like oscar-cli's.

    oscar:
      <id>: {endpoint, auth_user, auth_password, ssl_verify}
    default: <id>

Keys this CLI does not use (oidc_account_name, memory, …) are kept when the file is rewritten.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from platformdirs import user_config_path

from sluice.cli.errors import CliError

CONFIG_ENV = "SLUICE_CONFIG"
_KNOWN = ("endpoint", "auth_user", "auth_password", "ssl_verify")


def default_config_path() -> Path:
    return user_config_path("sluice", appauthor=False) / "config.yaml"


@dataclass
class Cluster:
    endpoint: str
    auth_user: str | None = None
    auth_password: str | None = None
    ssl_verify: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cluster":
        return cls(
            endpoint=str(data.get("endpoint") or ""),
            auth_user=_optional_str(data.get("auth_user")),
            auth_password=_optional_str(data.get("auth_password")),
            ssl_verify=data.get("ssl_verify") is not False,
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    def to_dict(self) -> dict[str, Any]:
        known = {
            "endpoint": self.endpoint,
            "auth_user": self.auth_user,
            "auth_password": self.auth_password,
            "ssl_verify": self.ssl_verify,
        }
        return {**self.extra, **{k: v for k, v in known.items() if v is not None}}


@dataclass
class ClusterConfig:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    default: str | None = None

    def get(self, cluster_id: str) -> Cluster:
        try:
            return self.clusters[cluster_id]
        except KeyError:
            known = ", ".join(sorted(self.clusters)) or "none"
            raise CliError(f"unknown cluster '{cluster_id}' (configured: {known})") from None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"oscar": {k: c.to_dict() for k, c in self.clusters.items()}}
        if self.default:
            data["default"] = self.default
        return data


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def load_config(path: Path) -> ClusterConfig:
    """The configuration at ``path``; an empty one when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ClusterConfig()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: not a valid cluster configuration: {exc}") from exc
    clusters = data.get("oscar") if isinstance(data, dict) else None
    if not isinstance(clusters, dict | None):
        raise CliError(f"{path}: 'oscar' must map cluster ids to clusters")
    return ClusterConfig(
        clusters={
            str(k): Cluster.from_dict(v) for k, v in (clusters or {}).items() if isinstance(v, dict)
        },
        default=_optional_str(data.get("default")) or None,
    )


def save_config(path: Path, config: ClusterConfig) -> None:
    """Write atomically, readable by the owner only: it holds passwords."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    data = config.to_dict()
    if path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:  # oscar-cli writes JSON unless the name says YAML
        text = json.dumps(data, indent=2) + "\n"
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    os.replace(temporary, path)
