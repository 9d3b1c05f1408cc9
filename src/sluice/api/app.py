"""``create_app``: every route of the manager, declared in one place."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import sluice
from sluice.api.auth import FailedLogins, Sessions
from sluice.api.errors import install_error_handlers
from sluice.api.execution_log import ExecutionLogMiddleware
from sluice.api.ports import Platform
from sluice.api.routes import (
    buckets,
    deployments,
    events,
    executions,
    federation,
    invoke,
    lineage,
    logs,
    metrics,
    service_auth,
    services,
    system,
    ui,
    ui_events,
    ui_fdl,
    ui_files,
    volumes,
)
from sluice.api.routes.invoke import JOB_HEADER
from sluice.api.store_events import StoreEvents


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Sluice",
        version=f"{sluice.__version__} (OSCAR API {sluice.OSCAR_API_VERSION})",
        description="Event-driven serverless file processing and AI inference. "
        "Wire-compatible with the OSCAR REST API.",
    )
    app.state.platform = platform
    app.state.failed_logins = FailedLogins()
    app.state.sessions = Sessions()
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
    app.include_router(lineage.router)
    app.include_router(federation.router)
    app.include_router(ui.router)  # the web UI, and / redirecting to it
    app.include_router(ui_events.router)
    app.include_router(ui_fdl.router)
    app.include_router(ui_files.router)
    app.add_middleware(ExecutionLogMiddleware, log=platform.oscar.executions)
    _allow_browsers(app, platform.settings.cors_origins)
    app.add_middleware(StoreEvents, platform=platform)  # outermost: before all of the above
    return app


def _allow_browsers(app: FastAPI, origins: list[str]) -> None:
    """CORS for browser clients such as OSCAR's dashboard served from another origin. They
    send credentials in the Authorization header, never as cookies."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if "*" in origins else origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[JOB_HEADER],
        max_age=600,
    )
