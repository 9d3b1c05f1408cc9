"""Fill in mask-detection.yaml for your clusters: the FDL to `sluice apply`.

    python examples/mask-detection/configure.py --webdav http://127.0.0.1:8090 \\
        --output mask-detection.local.yaml

The edge writes its frames straight into the cloud's object store, so the FDL needs that
store's endpoint and keys (``storage_providers.minio.cloud``) and the cloud cluster itself
(``clusters.cloud``). Both are read from your ``sluice cluster`` configuration, whose cluster
ids must be the FDL's, ``edge`` and ``cloud`` (the cloud's ``/system/config`` names its
store). The long-term WebDAV store is given on the command line, its password in
``MASK_WEBDAV_PASSWORD`` (or ``--webdav-password``). Script and code paths are made absolute,
so the written file works from any folder. It holds secrets: only you can read it.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from sluice.cli.config import CONFIG_ENV, default_config_path, load_config
from sluice.client import Client

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "mask-detection.yaml"
CLOUD_ID = "cloud"


def store_of(cluster_config: Path, cluster_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``clusters`` entry for ``cluster_id`` and its object store as ``minio_provider``."""
    cluster = load_config(cluster_config).get(cluster_id)
    with Client(
        cluster.endpoint, cluster.auth_user, cluster.auth_password, verify=cluster.ssl_verify
    ) as client:
        store = client.config()["minio_provider"]
    entry = {
        "endpoint": cluster.endpoint,
        "auth_user": cluster.auth_user or "",
        "auth_password": cluster.auth_password or "",
        "ssl_verify": cluster.ssl_verify,
    }
    return entry, store


def fill(
    template: dict[str, Any],
    cluster: dict[str, Any],
    store: dict[str, Any],
    webdav: dict[str, str],
) -> dict[str, Any]:
    """The template with the cloud's cluster, its store and the WebDAV store filled in."""
    fdl = dict(template)
    fdl["clusters"] = {CLOUD_ID: cluster}
    keys = ("endpoint", "region", "access_key", "secret_key", "verify")
    providers = dict(fdl.get("storage_providers") or {})
    providers["minio"] = {CLOUD_ID: {key: store[key] for key in keys if key in store}}
    providers["webdav"] = {"longterm": webdav}
    fdl["storage_providers"] = providers
    for item in fdl["functions"]["oscar"]:
        for service in item.values():
            if "script" in service:
                service["script"] = str(HERE / service["script"])
            service["pythonpath"] = [str(HERE / p) for p in service.get("pythonpath", [])]
    return fdl


def write_private(path: Path, fdl: dict[str, Any]) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(fdl, sort_keys=False))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", "-o", type=Path, default=Path("mask-detection.local.yaml"))
    parser.add_argument("--config", type=Path, help="the sluice cluster configuration")
    parser.add_argument("--webdav", required=True, help="URL of the long-term WebDAV store")
    parser.add_argument("--webdav-login", default="archive")
    parser.add_argument("--webdav-password", default=os.environ.get("MASK_WEBDAV_PASSWORD"))
    args = parser.parse_args(argv)
    config = args.config or Path(os.environ.get(CONFIG_ENV) or default_config_path())
    cluster, store = store_of(config, CLOUD_ID)
    webdav = {
        "hostname": args.webdav,
        "login": args.webdav_login,
        "password": args.webdav_password or "archive",
    }
    template = yaml.safe_load(TEMPLATE.read_text())
    output: Path = args.output
    write_private(output, fill(template, cluster, store, webdav))
    print(f"wrote {output}: the cloud's store is {store['endpoint']}", file=sys.stderr)
    return output


if __name__ == "__main__":
    main()
