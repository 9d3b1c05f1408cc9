"""The use-cases behind the rest of OSCAR's API, as the routes reach them (``platform.oscar``)."""

from dataclasses import dataclass

from sluice.core.buckets import BucketManager
from sluice.core.status import StatusSources


@dataclass
class OscarApi:
    buckets: BucketManager
    status: StatusSources
