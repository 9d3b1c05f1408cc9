"""Per-invocation state shared by the commands: the config file and open clients."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from sluice.cli.config import Cluster, ClusterConfig, load_config, save_config
from sluice.cli.errors import CliError
from sluice.client import Client

ClusterOption = Annotated[
    str | None, typer.Option("--cluster", "-c", help="Cluster id; the default one if omitted.")
]


@dataclass
class Session:
    config_path: Path
    _config: ClusterConfig | None = None
    _clients: dict[str, Client] = field(default_factory=dict)

    @property
    def config(self) -> ClusterConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def save(self) -> None:
        save_config(self.config_path, self.config)

    def cluster_id(self, explicit: str | None) -> str:
        """``explicit`` when given, else the default cluster."""
        if explicit:
            return explicit
        if self.config.default:
            return self.config.default
        raise CliError(
            "no cluster given and no default cluster; "
            "add one with `sluice cluster add ID ENDPOINT USER` or pass --cluster"
        )

    def client(self, cluster_id: str | None = None) -> Client:
        key = self.cluster_id(cluster_id)
        if key not in self._clients:
            self._clients[key] = connect(key, self.config.get(key))
        return self._clients[key]

    def adopt(self, cluster_id: str, client: Client) -> Client:
        """Use ``client`` for ``cluster_id`` from now on (a cluster an FDL defines)."""
        self._clients.setdefault(cluster_id, client)
        return self._clients[cluster_id]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def connect(cluster_id: str, cluster: Cluster, timeout: float = 60) -> Client:
    if not cluster.endpoint:
        raise CliError(f"cluster '{cluster_id}' has no endpoint in the configuration")
    if cluster.auth_user is None:
        raise CliError(
            f"cluster '{cluster_id}' has no auth_user; only Basic authentication is supported"
        )
    return Client(
        cluster.endpoint,
        cluster.auth_user,
        cluster.auth_password,
        verify=cluster.ssl_verify,
        timeout=timeout,
    )


def session_of(ctx: typer.Context) -> Session:
    session = ctx.find_object(Session)
    if session is None:  # only when a command is invoked outside the ``sluice`` app
        raise CliError("internal error: no CLI session")
    return session
