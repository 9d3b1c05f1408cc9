"""Connecting to the cluster and building the executor and its capacity from plain values."""

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.domain.parts import MinIOProvider
from sluice.domain.quantity import parse_cpu, parse_memory
from sluice.errors import Invalid
from sluice.execution.kubernetes import manifests as m
from sluice.execution.kubernetes.capacity import ClusterCapacity
from sluice.execution.kubernetes.claims import ClaimVolumes
from sluice.execution.kubernetes.executor import KubernetesExecutor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KubernetesConfig:
    kubeconfig: Path | None  # None: in-cluster config when in a pod, else ~/.kube/config
    namespace: str
    supervisor_image: str
    pull: str  # never, missing, always
    job_store: MinIOProvider  # the object store as pods reach it
    log_cap: int
    default_timeout: float
    idle_timeout: float
    storage_class: str | None = None  # of managed volumes' claims; the cluster's default


def api_client(kubeconfig: Path | None) -> Any:
    """An ``ApiClient`` of the official client, for the cluster ``kubeconfig`` names."""
    try:
        from kubernetes import client, config
    except ImportError:  # pragma: no cover - the extra is part of `test`
        raise Invalid(
            "the kubernetes runtime needs the kubernetes client: pip install 'sluice[kubernetes]'"
        ) from None
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(str(kubeconfig), client_configuration=configuration)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(client_configuration=configuration)
    if not configuration.verify_ssl:  # the kubeconfig says so: one warning, not one a request
        import warnings

        import urllib3

        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        log.warning("the cluster's TLS certificate is not verified (insecure-skip-tls-verify)")
    return client.ApiClient(configuration)


def build_kubernetes(
    settings: KubernetesConfig,
) -> tuple[KubernetesExecutor, ClusterCapacity, ClaimVolumes]:
    """The executor, the cluster's capacity and where managed volumes live."""
    from kubernetes import client

    api = api_client(settings.kubeconfig)
    overhead = (parse_cpu(m.SUPERVISOR_CPU), parse_memory(m.SUPERVISOR_MEMORY))
    capacity = ClusterCapacity(client.CoreV1Api(api), overhead)
    executor = KubernetesExecutor(
        api,
        capacity,
        settings.job_store,
        namespace=settings.namespace,
        supervisor_image=settings.supervisor_image,
        pull=settings.pull,
        log_cap=settings.log_cap,
        default_timeout=settings.default_timeout,
        idle_timeout=settings.idle_timeout,
    )
    claims = ClaimVolumes(client.CoreV1Api(api), settings.namespace, settings.storage_class)
    return executor, capacity, claims
