"""Edge to cloud: what one Sluice needs to work with other clusters, built in one place.

The forwarder (store-and-forward of outputs and delegated jobs, and the lineage of every
upload), the lineage view, and delegation of jobs to replicas on other clusters.
"""

from dataclasses import dataclass
from pathlib import Path

from sluice.core.delegation import Delegator
from sluice.core.federation import Federation
from sluice.core.forwarding import Forwarder
from sluice.core.lineage import LineageView
from sluice.core.services import ServiceManager
from sluice.domain.topology import store_name
from sluice.state.database import Database
from sluice.state.jobs import JobLedger
from sluice.state.lineage import LineageStore
from sluice.state.outbox import Outbox
from sluice.storage.resolver import StorageResolver


@dataclass
class Continuum:
    forwarder: Forwarder
    lineage: LineageView
    delegator: Delegator
    federation: Federation

    def start(self) -> None:
        self.forwarder.loop.start()

    def stop(self) -> None:
        self.forwarder.loop.stop()


def build_continuum(
    database: Database,
    storage: StorageResolver,
    services: ServiceManager,
    ledger: JobLedger,
    outbox_folder: Path,
) -> Continuum:
    """Wires the forwarder in as ``storage``'s upload hook."""
    own = store_name(storage.object_store.endpoint)
    outbox, lineage = Outbox(database), LineageStore(database)
    forwarder = Forwarder(storage, services, outbox, lineage, outbox_folder, own)
    storage.hook = forwarder
    delegator = Delegator(ledger, services, forwarder, lineage)
    view = LineageView(lineage, ledger, services, own)
    return Continuum(forwarder, view, delegator, Federation(services))
