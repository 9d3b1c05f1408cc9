"""Workflows: one service's output path is another's input. A chain that leads back to where it
started would run forever, so it is refused when the service that closes the loop is saved."""

from collections.abc import Callable, Iterable

from sluice.domain.service import Service
from sluice.errors import Invalid


def downstream(service: Service, others: Iterable[Service]) -> list[Service]:
    return [
        other
        for other in others
        if any(out.feeds(watch) for out in service.output for watch in other.input)
    ]


def check_no_cycle(service: Service, existing: Callable[[], list[Service]]) -> list[str]:
    """Invalid if the outputs of ``service`` lead, through other services, back to it."""
    if not service.output:
        return []
    services = {s.name: s for s in existing() if s.name != service.name}
    services[service.name] = service
    path = [service.name]

    def visit(current: Service, seen: set[str]) -> None:
        for nxt in downstream(current, services.values()):
            if nxt.name == service.name:
                chain = " → ".join([*path, service.name])
                raise Invalid(f"output: the workflow {chain} would run forever; use another path")
            if nxt.name not in seen:
                seen.add(nxt.name)
                path.append(nxt.name)
                visit(nxt, seen)
                path.pop()

    visit(service, {service.name})
    return []
