"""``create_app``: every route of the manager, declared in one place."""

from fastapi import FastAPI

import sluice
from sluice.api.errors import install_error_handlers
from sluice.api.execution_log import ExecutionLogMiddleware
from sluice.api.ports import Platform
from sluice.api.routes import (
    buckets,
    deployments,
    events,
    executions,
    invoke,
    logs,
    metrics,
    service_auth,
    services,
    system,
    volumes,
)


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Sluice",
        version=f"{sluice.__version__} (OSCAR API {sluice.OSCAR_API_VERSION})",
        description="Event-driven serverless file processing and AI inference. "
        "Wire-compatible with the OSCAR REST API.",
    )
    app.state.platform = platform
    install_error_handlers(app)
    app.include_router(system.public)
    app.include_router(system.router)
    app.include_router(services.router)
    app.include_router(deployments.router)
    app.include_router(service_auth.router)
    app.include_router(executions.router)
    app.include_router(logs.router)
    app.include_router(invoke.router)
    app.include_router(events.router)
    app.include_router(buckets.router)
    app.include_router(volumes.router)
    app.include_router(metrics.router)
    app.add_middleware(ExecutionLogMiddleware, log=platform.oscar.executions)
    return app
