"""Job state changes as they happen, for whoever listens (the web UI's live views, say).

Publishing never blocks the dispatcher: each subscriber has a bounded queue, and a subscriber
that falls behind loses the oldest events and is told how many (it can re-read the ledger).
"""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sluice.domain.job import JobStatus

QUEUE_SIZE = 1000


@dataclass(frozen=True)
class JobEvent:
    service: str
    job: str
    status: JobStatus
    attempts: int = 0
    reason: str = ""
    dead: bool = False
    at: float = field(default_factory=time.time)  # seconds since the epoch


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: "asyncio.Queue[JobEvent]"
    service: str | None
    dropped: int = 0


class Subscription:
    def __init__(self, subscriber: _Subscriber) -> None:
        self._subscriber = subscriber

    async def next(self, timeout: float | None = None) -> JobEvent | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return await asyncio.wait_for(self._subscriber.queue.get(), timeout)
        except TimeoutError:
            return None

    def take_dropped(self) -> int:
        """Events lost since the last call because this subscriber fell behind."""
        dropped, self._subscriber.dropped = self._subscriber.dropped, 0
        return dropped


class JobEvents:
    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()

    def publish(self, event: JobEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.service in (None, event.service):
                subscriber.loop.call_soon_threadsafe(_offer, subscriber, event)

    @asynccontextmanager
    async def subscribe(self, service: str | None = None) -> AsyncIterator[Subscription]:
        """Events of ``service`` (every service when None) while the block runs."""
        subscriber = _Subscriber(asyncio.get_running_loop(), asyncio.Queue(QUEUE_SIZE), service)
        with self._lock:
            self._subscribers.append(subscriber)
        try:
            yield Subscription(subscriber)
        finally:
            with self._lock:
                self._subscribers.remove(subscriber)


def _offer(subscriber: _Subscriber, event: JobEvent) -> None:
    """On the subscriber's loop: queue the event, dropping the oldest when full."""
    if subscriber.queue.full():
        subscriber.queue.get_nowait()
        subscriber.dropped += 1
    subscriber.queue.put_nowait(event)
