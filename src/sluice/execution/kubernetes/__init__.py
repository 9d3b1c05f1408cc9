"""The Kubernetes runtime (``SLUICE_RUNTIME=kubernetes``): file jobs as Jobs, synchronous
services as Deployments, the cluster's capacity. Needs the ``kubernetes`` extra."""

from sluice.execution.kubernetes.build import build_kubernetes

__all__ = ["build_kubernetes"]
