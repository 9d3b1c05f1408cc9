"""Buckets as OSCAR's ``/system/buckets`` API writes them, and presigned-URL requests."""

from pydantic import Field, field_validator

from sluice.domain.parts import TextMap
from sluice.domain.service import BUCKET_PATTERN
from sluice.domain.wire import WireModel

VISIBILITIES = ("private", "public", "restricted")
DEFAULT_VISIBILITY = "private"
OPERATIONS = {"upload": "PUT", "download": "GET"}
DEFAULT_EXPIRY = 900  # seconds, OSCAR's default
MIN_EXPIRY, MAX_EXPIRY = 1, 7 * 24 * 3600  # OSCAR's bounds (S3 allows at most 7 days)


class BucketRequest(WireModel):
    """Body of ``POST`` and ``PUT /system/buckets``."""

    bucket_name: str = Field(..., description="`bucket` or `bucket/folder` (the folder is made).")
    visibility: str = Field(DEFAULT_VISIBILITY, description="private, public or restricted.")
    allowed_users: list[str] = Field(default_factory=list, description="Users of a restricted one.")
    metadata: TextMap = Field(default_factory=dict, description="Free-form labels kept with it.")

    @field_validator("bucket_name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        value = value.strip().strip("/")
        bucket, _, folder = value.partition("/")
        if not BUCKET_PATTERN.match(bucket):
            raise ValueError(
                f"{bucket!r} is not a valid bucket name: use 3 to 63 lower-case letters, "
                "digits, '.' and '-', starting and ending with a letter or digit"
            )
        if any(part in {"", ".", ".."} for part in folder.split("/")) and folder:
            raise ValueError(f"folder {folder!r} must not contain empty, '.' or '..' segments")
        return value

    @field_validator("visibility")
    @classmethod
    def _check_visibility(cls, value: str) -> str:
        value = value.strip().lower() or DEFAULT_VISIBILITY
        if value not in VISIBILITIES:
            raise ValueError(f"{value!r} is not one of {', '.join(VISIBILITIES)}")
        return value

    @field_validator("allowed_users")
    @classmethod
    def _trim_users(cls, value: list[str]) -> list[str]:
        return [user.strip() for user in value if user.strip()]

    @property
    def bucket(self) -> str:
        return self.bucket_name.partition("/")[0]

    @property
    def folder(self) -> str:
        return self.bucket_name.partition("/")[2]


class PresignRequest(WireModel):
    """Body of ``POST /system/buckets/{bucket}/presign``."""

    object_key: str = Field(..., description="Key of the object inside the bucket.")
    operation: str = Field(..., description="upload (a PUT URL) or download (a GET URL).")
    expires_in: int = Field(
        DEFAULT_EXPIRY, description=f"Seconds the URL is valid, {MIN_EXPIRY} to {MAX_EXPIRY}."
    )
    content_type: str = Field(
        "", description="Content-Type the upload must send, or the download answers with."
    )
    extra_headers: TextMap = Field(default_factory=dict, description="Headers the URL signs.")

    @field_validator("object_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("operation")
    @classmethod
    def _check_operation(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in OPERATIONS:
            raise ValueError(f"{value!r} is not supported; use upload or download")
        return value

    @field_validator("expires_in")
    @classmethod
    def _check_expiry(cls, value: int) -> int:
        value = value or DEFAULT_EXPIRY
        if not MIN_EXPIRY <= value <= MAX_EXPIRY:
            raise ValueError(
                f"{value} seconds is out of range; use {MIN_EXPIRY} to {MAX_EXPIRY} seconds"
            )
        return value

    @field_validator("content_type")
    @classmethod
    def _trim_type(cls, value: str) -> str:
        return value.strip()

    @property
    def method(self) -> str:
        return OPERATIONS[self.operation]
