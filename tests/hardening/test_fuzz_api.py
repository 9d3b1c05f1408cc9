"""schemathesis against ``/openapi.json``, in-process against the ASGI app: no request it makes
may get a 5xx, on any operation (``/run`` and ``/job`` bodies are described in the schema).
The platform is the in-process one (real ledger, fake executor) over a real SeaweedFS, so the
bucket routes administer a real S3 store.

Bounded and repeatable: a fixed number of examples per operation, derandomized, with a fixed
seed, positive and negative cases, NUL characters allowed. Every operation runs with free path
parameters (mostly unknown names); those with a name in their path run again with every name
set to a stored service, so the requests reach past the 404. The requests served are counted
and reported at the end of the run (``docs/reliability.md`` has the figures).
"""

import base64
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from sluice.api.app import create_app
from sluice.capacity import MachineCapacity
from sluice.domain.parts import MinIOProvider
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform, build_platform
from sluice.settings import Settings
from sluice.storage import open_provider
from sluice.storage.embedded import EmbeddedSeaweedFS
from tests.hardening.conftest import ADMIN, BY_OPERATION, SERVED, service_body
from tests.inprocess.conftest import WEBHOOK_TOKEN
from tests.servers import seaweedfs

EXAMPLES = 10  # per operation and run, besides schemathesis's coverage and schema examples
SEED = 20261201
STORED = "echo"

_BASIC = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()


class Counted:
    """The app, counting each request it answers by status class."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                SERVED["requests"] += 1
                SERVED[f"{message['status'] // 100}xx"] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def _config(fixed_names: bool) -> SchemathesisConfig:
    # PUT reads its body as POST does (parse_service first): its ~800 coverage cases would
    # repeat POST's; its fuzzed examples still run.
    operations: list[dict[str, Any]] = [
        {"include-name": "PUT /system/services", "phases": {"coverage": {"enabled": False}}}
    ]
    project: dict[str, Any] = {
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "allow-x00": True},
        "phases": {"stateful": {"enabled": False}},
        "operations": operations,
    }
    if fixed_names:
        project["parameters"] = {"service": STORED, "name": STORED, "bucket": STORED}
        # Only what names a service in its path runs again (``include()`` is not used: with
        # per-operation settings, schemathesis 4.32 ignores it).
        operations.append({"exclude-path-regex": r"\{", "enabled": False})
    return SchemathesisConfig.from_dict(project)


def _schema(fixed_names: bool) -> Any:
    """The schema, read from an app on a stand-in platform that serves nothing else (schemas
    are read at collection): the requests of each test go to an app on that test's own
    platform (``app=`` of ``call``)."""
    stand_in = SimpleNamespace(
        oscar=SimpleNamespace(executions=None), settings=SimpleNamespace(cors_origins=[])
    )
    reader = create_app(cast(Platform, stand_in))
    return schemathesis.openapi.from_asgi("/openapi.json", reader, config=_config(fixed_names))


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    """A real SeaweedFS for the module: ``/system/buckets`` administers a real S3 store."""
    with seaweedfs(tmp_path_factory.mktemp("fuzz-store")) as store:
        yield store


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, seaweed: EmbeddedSeaweedFS
) -> Iterator[Platform]:
    """The in-process platform (real ledger, fake executor) over the real store, one for the
    module: what the cases of one operation leave behind, the next ones find."""
    described = MinIOProvider(
        endpoint=seaweed.endpoint,
        verify=False,
        access_key=seaweed.credentials.access_key,
        secret_key=seaweed.credentials.secret_key,
    )
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        admin_password=ADMIN[1],
        retry_backoff=0.05,
        reconcile_interval=3600,
    )
    built = build_platform(
        settings,
        described,
        WEBHOOK_TOKEN,
        store=open_provider("minio", described.model_dump()),
        executor=FakeExecutor(),
        capacity=MachineCapacity(total_cpu=4, total_memory=8 << 30),
    )
    built.start()
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def app(platform: Platform) -> Counted:
    _keep_stored(platform)
    SERVED["operations"] += 1
    return Counted(create_app(platform))


def _headers(case: Any) -> dict[str, str]:
    """The admin everywhere; the store's webhook token on the store's webhook."""
    if case.operation.path == "/events/seaweedfs":
        return {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    return {"Authorization": _BASIC}


def _keep_stored(platform: Platform) -> None:
    """A fuzzed DELETE may remove the stored service; the next case finds it again."""
    if not platform.services.exists(STORED):
        platform.services.create(service_body(STORED))


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


FREE_NAMES = _schema(fixed_names=False)
STORED_NAMES = _schema(fixed_names=True)


@FREE_NAMES.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors_with_free_names(case: Any, app: Counted) -> None:
    SERVED["cases"] += 1
    BY_OPERATION[case.operation.label] += 1
    case.call_and_validate(app=app, headers=_headers(case), checks=[not_a_server_error])


@STORED_NAMES.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors_on_a_stored_service(case: Any, app: Counted, platform: Platform) -> None:
    SERVED["cases"] += 1
    BY_OPERATION[f"{case.operation.label} ({STORED})"] += 1
    _keep_stored(platform)
    case.call_and_validate(app=app, headers=_headers(case), checks=[not_a_server_error])
