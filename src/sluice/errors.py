"""One error tree for the whole platform, mapped to HTTP statuses once in ``sluice.api.errors``."""


class SluiceError(Exception):
    """Base of every error Sluice raises on purpose. The message is safe to show to a user."""


class NotFound(SluiceError):
    """A named thing (service, job, object) does not exist."""


class Conflict(SluiceError):
    """The request clashes with what is stored (for example, a duplicate service name)."""


class Invalid(SluiceError):
    """User input is wrong; the message says what and where."""


class TooLarge(Invalid):
    """A request body is larger than the limit; the message says the limit and its setting."""


class Forbidden(SluiceError):
    """The caller may not do this."""


class BackendError(SluiceError):
    """An execution backend failed to run or manage work."""


class Busy(SluiceError):
    """Too much is waiting already; the caller should try again later (429 or 503)."""

    def __init__(self, message: str, overloaded: bool = False) -> None:
        super().__init__(message)
        self.overloaded = overloaded  # the whole manager (503), not one service (429)


class StateError(SluiceError):
    """The state database cannot be used (damaged, not a database, unreachable)."""


class StorageError(SluiceError):
    """An object store or storage provider failed."""
