"""The resource: who exports -- our service attributes over the detected process, host, OS and container.

The SDK detects only ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME`` unless
``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS`` names more; a service's telemetry is far more useful with its pid,
host, OS and container id (which pod's worker burnt the CPU), so when the variable is unset the distro
runs the SDK's ``process``, ``host`` and ``os`` detectors and a container-id detector. Set, the variable
decides, exactly as upstream. Our attributes (``service.name``, ``rythmiq.service``, the user's
``OTEL_RESOURCE_ATTRIBUTES``) win over anything detected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import (
    OsResourceDetector,
    ProcessResourceDetector,
    Resource,
    ResourceDetector,
    _HostResourceDetector,
    get_aggregated_resources,
)

from rythmiq_otel import vocab
from rythmiq_otel.distro.setup._settings import Settings

__all__ = ["ContainerIdDetector", "HashedOnceResource", "build_resource", "container_id"]

# A container id is 64 hex digits: in cgroup v1 paths (docker/<id>, cri-containerd-<id>.scope, kubepods),
# and under cgroup v2 only in the files docker/containerd bind-mount from the container's own directory.
_ID = r"([0-9a-f]{64})"
_CGROUP_ID = re.compile(rf"(?<![0-9a-f]){_ID}(?![0-9a-f])")
_MOUNT_ID = re.compile(rf"/(?:docker/containers|sandboxes|containers)/{_ID}/(?:hostname|resolv\.conf|hosts)")


def container_id(cgroup: str, mountinfo: str) -> str | None:
    """The container id found in ``/proc/self/cgroup`` or, failing that, ``/proc/self/mountinfo``."""
    for line in cgroup.splitlines():
        match = _CGROUP_ID.search(line)
        if match:
            return match.group(1)
    match = _MOUNT_ID.search(mountinfo)
    return match.group(1) if match else None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


class ContainerIdDetector(ResourceDetector):
    """``container.id`` when the process runs in a container (nothing otherwise)."""

    def detect(self) -> Resource:
        found = container_id(_read("/proc/self/cgroup"), _read("/proc/self/mountinfo"))
        return Resource({"container.id": found}) if found else Resource.get_empty()


# What the process detector reports that may hold a user or a secret: the account name (the PII guard
# would redact it on every record, with a report at each start), and the command line, whose arguments
# carry tokens and file names as often as not. Named detectors in OTEL_EXPERIMENTAL_RESOURCE_DETECTORS
# report them, then the PII guard decides.
_LEFT_OUT = frozenset({"process.owner", "process.command_line", "process.command_args", "process.command"})


class HashedOnceResource(Resource):
    """A ``Resource`` that computes its hash once.

    Why: upstream's OTLP encoders group every exported log record and span by its resource, and
    ``Resource.__hash__`` serialises all attributes to sorted JSON each time: about 8 µs a record for the
    18 attributes the detectors give us, a tenth of a log call's total CPU (docs/distro.md, "Where the CPU
    goes"). A resource's attributes are immutable (``BoundedAttributes``), so the hash cannot change;
    equality is ``Resource``'s own.
    """

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = Resource.__hash__(self)

    def __hash__(self) -> int:
        return self._hash


def _default_detectors() -> list[ResourceDetector]:
    return [ProcessResourceDetector(), _HostResourceDetector(), OsResourceDetector(), ContainerIdDetector()]


def build_resource(settings: Settings) -> Resource:
    """Detected attributes, overridden by ``OTEL_RESOURCE_ATTRIBUTES``, overridden by ours."""
    ours: dict[str, Any] = {
        **dict(settings.resource_attributes),
        "service.name": settings.service_name,
        vocab.RESOURCE_SERVICE_ATTR: settings.service,
    }
    configured = Resource.create(ours)  # the SDK applies OTEL_EXPERIMENTAL_RESOURCE_DETECTORS when set
    if settings.resource_detectors_set:
        return configured
    detected = get_aggregated_resources(_default_detectors()).attributes
    kept = {key: value for key, value in detected.items() if key not in _LEFT_OUT}
    return Resource(kept).merge(configured)
