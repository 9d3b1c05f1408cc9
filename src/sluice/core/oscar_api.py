"""The use-cases behind the rest of OSCAR's API, as the routes reach them (``platform.oscar``)."""

from dataclasses import dataclass

from sluice.core.buckets import BucketManager
from sluice.core.deployments import DeploymentViews
from sluice.core.execution_log import ExecutionLog
from sluice.core.metrics import Metrics
from sluice.core.service_views import ServiceViews
from sluice.core.status import StatusSources
from sluice.core.volumes import VolumeManager


@dataclass
class OscarApi:
    buckets: BucketManager
    status: StatusSources
    executions: ExecutionLog
    metrics: Metrics
    deployments: DeploymentViews
    volumes: VolumeManager
    service_views: ServiceViews
