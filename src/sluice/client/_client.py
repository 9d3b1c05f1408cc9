"""``Client``: one method per REST call of the Sluice/OSCAR manager."""

from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

from sluice.client._errors import ClientError

ApplyOutcome = Literal["created", "updated"]
WARNING_HEADER = "X-Sluice-Warning"

# A server that keeps answering with new pages should not keep us looping forever.
_MAX_PAGES = 10_000
_RUN_TIMEOUT = 300.0
JOB_HEADER = "X-Sluice-Job"


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>``; replaces Basic where it is used."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _warnings(response: httpx.Response) -> list[str]:
    return response.headers.get_list(WARNING_HEADER)


def _segment(name: str) -> str:
    return quote(name, safe="")


def _jobs_page(data: dict[str, Any]) -> dict[str, Any]:
    """The jobs of one logs page by name."""
    if "jobs" not in data:  # servers up to OSCAR v3.6.3 answer a bare {job: info} map
        return data
    jobs = data.get("jobs") or {}
    if not isinstance(jobs, dict):
        raise ClientError(f"malformed job list: 'jobs' is a {type(jobs).__name__}")
    return jobs


class Client:
    """Talks to one Sluice (or OSCAR) manager.

    Management calls authenticate with Basic ``user``/``password`` when a user is given, else
    with ``token`` as a Bearer. Invocations (``run``, ``invoke_job``) send ``Bearer <token>``,
    or the service's own token read from ``GET /system/services/{name}``.
    """

    def __init__(
        self,
        endpoint: str,
        user: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
        verify: bool = True,
        timeout: float = 60,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        auth: httpx.Auth | None = None
        if user is not None:
            auth = httpx.BasicAuth(user, password or "")
        elif token:
            auth = BearerAuth(token)
        self._http = httpx.Client(
            base_url=self.endpoint, auth=auth, verify=verify, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.endpoint!r})"

    # -- cluster -------------------------------------------------------------------------------

    def health(self) -> str:
        return self._request("GET", "/health").text

    def info(self) -> dict[str, Any]:
        return self._json_object("GET", "/system/info")

    def config(self) -> dict[str, Any]:
        return self._json_object("GET", "/system/config")

    def status(self) -> dict[str, Any]:
        return self._json_object("GET", "/system/status")

    # -- services ------------------------------------------------------------------------------

    def list_services(self) -> list[dict[str, Any]]:
        data = self._json("GET", "/system/services")
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
            raise self._unexpected("GET", "/system/services", "a list of services")
        return data

    def get_service(self, name: str) -> dict[str, Any]:
        return self._json_object("GET", f"/system/services/{_segment(name)}")

    def service_exists(self, name: str) -> bool:
        try:
            self._request("GET", f"/system/services/{_segment(name)}")
        except ClientError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    def create_service(self, svc: dict[str, Any]) -> list[str]:
        """Create it; what the server warns about (a Sluice server only), one line each."""
        return _warnings(self._request("POST", "/system/services", json=svc))

    def update_service(self, svc: dict[str, Any]) -> list[str]:
        return _warnings(self._request("PUT", "/system/services", json=svc))

    def apply_service(self, svc: dict[str, Any]) -> tuple[ApplyOutcome, list[str]]:
        """Create the service, or update it when one with its name exists (as oscar-cli does);
        what was done, and the server's warnings."""
        if self.service_exists(str(svc.get("name", ""))):
            return "updated", self.update_service(svc)
        return "created", self.create_service(svc)

    def delete_service(self, name: str) -> None:
        self._request("DELETE", f"/system/services/{_segment(name)}")

    # -- edge to cloud -------------------------------------------------------------------------

    def lineage(self, path: str, store: str = "") -> dict[str, Any]:
        """Sluice: the objects and jobs behind ``path`` (``bucket/key``) in ``store`` (an S3
        endpoint; the cluster's own store when empty), as far as this cluster knows."""
        params = {"path": path, **({"store": store} if store else {})}
        return self._json_object("GET", "/system/lineage", params)

    def outbox(self) -> dict[str, Any]:
        """Sluice: what waits for other clusters (store-and-forward), and what was delivered."""
        return self._json_object("GET", "/system/outbox")

    # -- jobs ----------------------------------------------------------------------------------

    def list_jobs(self, svc: str) -> dict[str, dict[str, Any]]:
        """All jobs of ``svc`` by name, following ``next_page`` until the server has no more."""
        jobs: dict[str, dict[str, Any]] = {}
        for data in self._pages(f"/system/logs/{_segment(svc)}"):
            jobs.update(_jobs_page(data))
        return jobs

    def job_details(self, svc: str, dead: bool = False) -> list[dict[str, Any]]:
        """Sluice: every job of ``svc`` with attempts, exit code and reason; ``dead``: dead letters.

        Follows ``next_page``. Each item has ``name``, ``status``, ``attempts``, ``max_attempts``,
        ``dead_letter``, ``exit_code``, ``reason``, ``input`` and the OSCAR times.
        """
        path = f"/system/jobs/{_segment(svc)}"
        jobs: list[dict[str, Any]] = []
        for data in self._pages(path, {"dead": "true"} if dead else {}):
            page_jobs = data.get("jobs") or []
            if not isinstance(page_jobs, list) or not all(isinstance(j, dict) for j in page_jobs):
                raise self._unexpected("GET", path, "a list of jobs")
            jobs.extend(page_jobs)
        return jobs

    def retry_job(self, svc: str, job: str) -> dict[str, Any]:
        """Sluice: run a dead letter again from its first attempt; the job's new detail."""
        return self._json_object("POST", f"/system/jobs/{_segment(svc)}/{_segment(job)}/retry")

    def get_job_log(self, svc: str, job: str, timestamps: bool = False) -> str:
        params = {"timestamps": "true"} if timestamps else None
        path = f"/system/logs/{_segment(svc)}/{_segment(job)}"
        return self._request("GET", path, params=params).text

    def delete_job(self, svc: str, job: str) -> None:
        self._request("DELETE", f"/system/logs/{_segment(svc)}/{_segment(job)}")

    def delete_jobs(self, svc: str, all: bool = False) -> None:
        """Delete the finished jobs of ``svc``; with ``all``, every job."""
        params = {"all": "true"} if all else None
        self._request("DELETE", f"/system/logs/{_segment(svc)}", params=params)

    # -- invocations ---------------------------------------------------------------------------

    def invoke_job(self, svc: str, body: bytes) -> str:
        """Start an asynchronous job (``POST /job/{svc}``); the server answers 201.

        Returns the job id Sluice sends in ``X-Sluice-Job`` ("" from servers that do not).
        """
        auth = self._invocation_auth(svc)
        response = self._request("POST", f"/job/{_segment(svc)}", content=body, auth=auth)
        return str(response.headers.get(JOB_HEADER, ""))

    def run(self, svc: str, body: bytes, timeout: float = _RUN_TIMEOUT) -> bytes:
        """Invoke ``svc`` synchronously; the raw response (often base64, see ``decode_output``)."""
        auth = self._invocation_auth(svc)
        path = f"/run/{_segment(svc)}"
        return self._request("POST", path, content=body, auth=auth, timeout=timeout).content

    def _invocation_auth(self, svc: str) -> BearerAuth:
        if self._token:
            return BearerAuth(self._token)
        token = self.get_service(svc).get("token")
        if not isinstance(token, str) or not token:
            raise ClientError(f"service '{svc}' has no token to invoke it with")
        return BearerAuth(token)

    # -- plumbing ------------------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Each page of a paged listing, following ``next_page`` until it is empty or repeats."""
        page, seen = "", set()
        for _ in range(_MAX_PAGES):
            seen.add(page)
            data = self._json_object("GET", path, params={**(params or {}), "page": page})
            yield data
            # Servers up to OSCAR v3.6.3 answer one bare {job: info} map, without pages.
            page = str(data.get("next_page") or "") if "jobs" in data else ""
            if not page or page in seen:
                return

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        auth: httpx.Auth | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        options: dict[str, Any] = {"params": params, "json": json, "content": content}
        if auth is not None:
            options["auth"] = auth
        if timeout is not None:
            options["timeout"] = timeout
        try:
            response = self._http.request(method, path, **options)
        except httpx.TimeoutException as exc:
            raise ClientError.timed_out(method, path, timeout or self._http.timeout.read) from exc
        except httpx.TransportError as exc:
            raise ClientError.unreachable(self.endpoint, method, path, exc) from exc
        if not response.is_success:
            raise ClientError.from_response(method, path, response)
        return response

    def _json(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        response = self._request(method, path, params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise self._unexpected(method, path, "JSON") from exc

    def _json_object(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        data = self._json(method, path, params)
        if not isinstance(data, dict):
            raise self._unexpected(method, path, "a JSON object")
        return data

    def _unexpected(self, method: str, path: str, wanted: str) -> ClientError:
        return ClientError(
            f"{method} {path}: the server at {self.endpoint} did not answer with {wanted}",
            method=method,
            path=path,
        )
