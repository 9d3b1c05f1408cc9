"""``create_app``: every route of the manager, declared in one place."""

from fastapi import FastAPI

import sluice
from sluice.api.auth import FailedLogins
from sluice.api.errors import install_error_handlers
from sluice.api.ports import Platform
from sluice.api.routes import events, invoke, logs, services, system


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Sluice",
        version=sluice.__version__,
        description="Event-driven serverless file processing and AI inference. "
        "Wire-compatible with the OSCAR REST API.",
    )
    app.state.platform = platform
    app.state.failed_logins = FailedLogins()
    install_error_handlers(app)
    app.include_router(system.public)
    app.include_router(system.router)
    app.include_router(services.router)
    app.include_router(logs.router)
    app.include_router(invoke.router)
    app.include_router(events.router)
    return app
