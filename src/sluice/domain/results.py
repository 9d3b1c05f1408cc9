"""How one run of a service ended: a file job's report, or a synchronous call's answer."""

from dataclasses import dataclass


@dataclass
class JobReport:
    succeeded: bool
    exit_code: int | None  # None when the script never ran or was killed by a signal
    reason: str  # for people, empty on success: "exit code 3", "killed: timed out after 5 s"
    log: str = ""  # the supervisor's lines around the script's output, capped


@dataclass(frozen=True)
class SyncResult:
    status: int  # 200 answered, 500 the service failed, 504 it took too long
    body: bytes
