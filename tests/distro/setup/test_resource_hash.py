from __future__ import annotations

from opentelemetry.sdk.resources import Resource

from rythmiq_otel.distro.setup import _settings
from rythmiq_otel.distro.setup._providers import build_providers
from rythmiq_otel.distro.setup._resource import HashedOnceResource


def test_the_hashed_resource_equals_and_hashes_like_the_resource_it_wraps() -> None:
    plain = Resource({"service.name": "worker", "host.name": "h", "process.pid": 7, "tags": ("a", "b")}, "s://u")
    hashed = HashedOnceResource(plain)
    assert hashed == plain and plain == hashed
    assert hash(hashed) == hash(plain)
    assert dict(hashed.attributes) == dict(plain.attributes) and hashed.schema_url == plain.schema_url
    assert hash(HashedOnceResource(Resource({"service.name": "api"}))) != hash(hashed)
    grouped = {plain: "records"}  # the OTLP encoders group records in a dict keyed by resource
    assert grouped[hashed] == "records"


def test_every_provider_exports_under_the_one_hashed_resource() -> None:
    # Nothing is exported (no record is made), so the endpoint is never connected to.
    settings = _settings.load_settings({"RYTHMIQ_SERVICE": "worker", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    providers = build_providers(settings)
    try:
        assert providers.logger is not None and providers.meter is not None
        resources = [providers.tracer.resource, providers.logger.resource,
                     providers.meter._sdk_config.resource]
        assert all(type(resource) is HashedOnceResource for resource in resources)
        assert resources[0] is resources[1] is resources[2]
        assert resources[0].attributes["rythmiq.service"] == "worker"
    finally:
        providers.shutdown(1.0)
