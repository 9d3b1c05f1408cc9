"""Managed volumes: a named persistent folder that services mount (a PVC on Kubernetes)."""

import posixpath
import re

from pydantic import Field, field_validator

from sluice.domain.quantity import is_valid_memory, parse_memory
from sluice.domain.wire import WireModel

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME_LENGTH = 63
LIFECYCLES = ("delete", "retain")
# Paths OSCAR keeps for itself inside a job's container.
RESERVED_PATHS = ("/oscar/config", "/oscar/bin")


def check_volume_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME_LENGTH or not NAME_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: 1 to {MAX_NAME_LENGTH} lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return value


def check_volume_size(value: str) -> str:
    value = value.strip()
    if not is_valid_memory(value) or parse_memory(value) <= 0:
        raise ValueError(f"{value!r} is not a positive quantity such as 1Gi or 500Mi")
    return value


class VolumeRequest(WireModel):
    """Body of ``POST /system/volumes``."""

    name: str = Field(..., description="Volume name (a DNS-1123 label).")
    size: str = Field(..., description="Size, a Kubernetes quantity such as 1Gi.")

    _name = field_validator("name")(check_volume_name)
    _size = field_validator("size")(check_volume_size)


class ServiceVolume(WireModel):
    """A service's ``volume`` block: create a volume with it, or mount an existing one."""

    name: str = Field(
        "",
        description="Volume to mount; with `size`, the one to create "
        "(the service's name if empty).",
    )
    size: str = Field("", description="Create a volume of this size for the service.")
    mount_path: str = Field(..., description="Absolute path the volume is mounted at.")
    lifecycle_policy: str = Field(
        "", description="delete (default) or retain a volume the service created when it goes."
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_volume_name(value) if value.strip() else ""

    @field_validator("size")
    @classmethod
    def _check_size(cls, value: str) -> str:
        return check_volume_size(value) if value.strip() else ""

    @field_validator("mount_path")
    @classmethod
    def _check_mount_path(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path")
        value = posixpath.normpath(value)
        for reserved in RESERVED_PATHS:
            if value == reserved or value.startswith(reserved + "/"):
                raise ValueError(f"{value!r} overlaps {reserved}, which OSCAR reserves")
        return value

    @field_validator("lifecycle_policy")
    @classmethod
    def _check_policy(cls, value: str) -> str:
        value = value.strip().lower()
        if value and value not in LIFECYCLES:
            raise ValueError(f"{value!r} is not one of {', '.join(LIFECYCLES)}")
        return value

    @property
    def creates(self) -> bool:
        """Whether the service asks for a new volume (it gives a size) or mounts one."""
        return bool(self.size)

    def normalised(self, service_name: str) -> "ServiceVolume":
        """OSCAR's rules: a name is needed to mount; a created volume defaults to the service's
        name and to the delete policy, and a policy only makes sense when creating."""
        if not self.size:
            if not self.name:
                raise ValueError("volume.name is required when volume.size is not set")
            if self.lifecycle_policy:
                raise ValueError("volume.lifecycle_policy is only valid when volume.size is set")
            return self
        return self.model_copy(
            update={
                "name": self.name or service_name,
                "lifecycle_policy": self.lifecycle_policy or "delete",
            }
        )
