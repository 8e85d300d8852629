"""Walking the resource → scope → items nesting shared by all three OTLP signals.

Every row stores its resource (as JSON, scrubbed once per resource, not once per record), the §1.1
service named by it, the scope name, and a dedup identity prefix; this module computes them once and hands
the mappers the items with their origin.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from rythmiq_otel import vocab

from ._context import MapContext
from ._values import attributes_dict, clean_text, hex_to_uuid_text, key_text

Row = TypeVar("Row")


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (orjson: the JSON columns are built several times faster
    than with ``json``; the values are already JSON-compatible, strings free of lone surrogates; bytes
    the PII layer left -- it replaces them -- are written as base64)."""
    return orjson.dumps(value, default=_base64).decode()


def _base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a batch of items came from: what each of their rows repeats."""

    resource_json: str
    service: str | None
    scope_name: str | None
    #: MD5 state after the resource and scope bytes: each item's key hashes only the item's own bytes.
    identity: Any


def resource_service(resource: dict[str, Any]) -> str | None:
    """The §1.1 service of a resource: ``rythmiq.service``, else ``service.name``.

    A ``service.name`` of ``rythmiq-<service>`` (the distro's default, docs/contracts.md §1) counts as
    ``<service>``, so a sender that sets only ``service.name`` still lands in the spec's service enum.
    """
    service = resource.get(vocab.RESOURCE_SERVICE_ATTR) or resource.get("service.name")
    if not isinstance(service, str):
        return None
    short = service.removeprefix("rythmiq-")
    return short if short in vocab.SERVICES else service


def origins(
    resource_items: Iterable[Any], scope_field: str, items_field: str, ctx: MapContext
) -> Iterator[tuple[Origin, Any]]:
    """Yield (origin, repeated items) per scope of every resource of an export request."""
    for resource_item in resource_items:
        resource = ctx.scrubber.attributes(
            attributes_dict(resource_item.resource.attributes, ctx.repairs), "resource", ctx.redactions
        )
        resource_json, service = dumps(resource), resource_service(resource)
        if service is not None:
            service = key_text(service, ctx.repairs)  # indexed in metric_rollups
        resource_bytes = resource_item.resource.SerializeToString()
        for scope_item in getattr(resource_item, scope_field):
            origin = Origin(
                resource_json=resource_json,
                service=service,
                scope_name=ctx.scrubber.text(
                    clean_text(scope_item.scope.name, ctx.repairs), "scope.name", ctx.redactions
                ) or None,
                identity=hashlib.md5(
                    resource_bytes + b"\x00" + scope_item.scope.SerializeToString() + b"\x00",
                    usedforsecurity=False,
                ),
            )
            yield origin, getattr(scope_item, items_field)


def item_rows(
    resource_items: Iterable[Any], scope_field: str, items_field: str, ctx: MapContext,
    to_row: Callable[[Any, MapContext, Origin], Row | None],
) -> Iterator[Row]:
    """Yield ``to_row(item, ctx, origin)`` for every item of the request; ``None`` (a rejected item) is
    skipped."""
    for origin, items in origins(resource_items, scope_field, items_field, ctx):
        for item in items:
            row = to_row(item, ctx, origin)
            if row is not None:
                yield row


def dedup_key(identity: Any, item: Any) -> str:
    """A UUID (as text) that is equal for byte-identical items from the same resource and scope: the MD5
    of the identity bytes (``Origin.identity``, a hash state) followed by the item's encoding."""
    digest = identity.copy()
    digest.update(item.SerializeToString())
    return hex_to_uuid_text(digest.hexdigest())
