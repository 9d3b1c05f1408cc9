"""When a failed job runs again: a value object, so the arithmetic lives in one place."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # attempts in all, the first included
    backoff: float  # seconds before the first retry; doubles after each failure

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff < 0:
            raise ValueError(f"backoff must not be negative, got {self.backoff}")

    def delay_after(self, attempt: int) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); None: no more."""
        if attempt >= self.max_attempts:
            return None
        return self.backoff * 2.0 ** (attempt - 1)
