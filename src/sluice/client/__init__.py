"""Python client for the Sluice/OSCAR REST API. Imports nothing from the server side."""

from sluice.client._client import Client
from sluice.client._codec import decode_output
from sluice.client._errors import ClientError

__all__ = ["Client", "ClientError", "decode_output"]
