"""Two real Sluice sites, edge and cloud, each a ``sluice up`` in its own network namespace.

``scripts/netns-up`` makes the namespaces (guard first: 10.249.0.0/16 is blackholed in the root
namespace before any address in it is used); the sites talk over their veth link only, and the
tests reach them through the host leg. Servers are stopped by their own pid and the namespaces
removed when the block ends, whatever happened inside it.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from tests.sluice_process import SluiceProcess, open_test_folders

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
API_PORT = 8080
S3_PORT = 8333


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class SiteProcess(SluiceProcess):
    """``sluice up`` inside namespace ``netns``, bound to the site's own address."""

    netns: str = ""
    address: str = ""
    port: int = API_PORT
    s3_port: int = S3_PORT
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.address}:{self.s3_port}"

    def start(self, timeout: float = 90) -> "SiteProcess":
        env = {**os.environ, **self.env, "SLUICE_DATA_DIR": str(self.data_dir)}
        env.pop("SLUICE_ADMIN_PASSWORD", None)
        if self.password:
            env["SLUICE_ADMIN_PASSWORD"] = self.password
        # nsenter execs sluice itself (no fork), so the pid is the manager's; unlike
        # `ip netns exec` it leaves /sys (and the cgroups the sandbox uses) as they are.
        argv = ["nsenter", f"--net=/run/netns/{self.netns}", sys.executable, "-m", "sluice"]
        argv += ["up", "--host", self.address, "--port", str(self.port)]
        argv += ["--s3-port", str(self.s3_port)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        open_test_folders(self.data_dir)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_healthy(timeout)
        return self

    def store(self) -> dict[str, Any]:
        """The site's object store as ``/system/config`` advertises it."""
        with self.client() as http:
            provider: dict[str, Any] = http.get("/system/config").json()["minio_provider"]
        return provider

    def s3(self) -> Any:
        cfg = self.store()
        return boto3.client(
            "s3",
            endpoint_url=cfg["endpoint"],
            aws_access_key_id=cfg["access_key"],
            aws_secret_access_key=cfg["secret_key"],
            region_name=cfg["region"],
        )

    def minio_provider(self) -> dict[str, Any]:
        """This site's store as another site's FDL names it (``storage_providers.minio.<id>``)."""
        cfg = self.store()
        keys = ("endpoint", "access_key", "secret_key", "region")
        return {**{k: cfg[k] for k in keys}, "verify": False}

    def cluster_entry(self) -> dict[str, Any]:
        return {
            "endpoint": self.url,
            "auth_user": self.user,
            "auth_password": self.password,
            "ssl_verify": False,
        }


@dataclass
class Sites:
    n: int
    edge: SiteProcess
    cloud: SiteProcess

    @property
    def bridge(self) -> str:
        return f"slc{self.n}-net"

    def cut(self, site: str = "cloud") -> None:
        """Unplug ``site`` from the bridge: nothing reaches it, it reaches nothing."""
        _ip("-n", self.bridge, "link", "set", f"p-{site}", "down")

    def restore(self, site: str = "cloud") -> None:
        _ip("-n", self.bridge, "link", "set", f"p-{site}", "up")

    def limit(self, rate: str, site: str = "cloud") -> None:
        """A token-bucket limit on what the bridge sends to ``site`` (and on what it sends)."""
        tbf = ["tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"]
        for where, dev in ((self.bridge, f"p-{site}"), (f"slc{self.n}-{site}", "v0")):
            argv = ["ip", "netns", "exec", where, "tc", "qdisc", "replace", "dev", dev, "root"]
            subprocess.run([*argv, *tbf], check=True, capture_output=True)

    def cli_config(self) -> dict[str, Any]:
        return {"edge": self.edge.cluster_entry(), "cloud": self.cloud.cluster_entry()}


def netns_up() -> int:
    """A new pair of sites' namespaces (needs root and iproute2); its number N."""
    argv = [str(SCRIPTS / "netns-up")]
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/netns-up failed: {done.stderr.strip()}")
    return int(done.stdout.strip().splitlines()[-1])


def netns_down(n: int) -> None:
    subprocess.run([str(SCRIPTS / "netns-down"), str(n)], check=False, capture_output=True)


@contextmanager
def two_sites(
    base: Path, env: dict[str, str] | None = None, *, edge_env: dict[str, str] | None = None
) -> Iterator[Sites]:
    """Edge (10.249.N.1) and cloud (10.249.N.2), both up with ``env`` (the edge also with
    ``edge_env``); everything removed at the end."""
    n = netns_up()
    started: list[SiteProcess] = []
    try:
        for index, name in enumerate(("edge", "cloud"), start=1):
            site = SiteProcess(
                data_dir=base / name,
                netns=f"slc{n}-{name}",
                address=f"10.249.{n}.{index}",
                env={
                    "SLUICE_RECONCILE_INTERVAL": "2",
                    **(env or {}),
                    **((edge_env or {}) if name == "edge" else {}),
                },
            )
            started.append(site)
            site.start()
        yield Sites(n, started[0], started[1])
    finally:
        for site in started:
            site.stop()
        netns_down(n)


def ok(response: httpx.Response) -> httpx.Response:
    assert response.is_success, f"{response.status_code}: {response.text}"
    return response
