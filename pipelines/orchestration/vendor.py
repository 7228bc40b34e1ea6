"""The base of every vendor client resource: the origin, timeouts and request budget are
declared once, and there is one way to open the vendor's HTTP layer, with one test seam
(a transport and a retry policy) that every vendor has."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
from dagster import ConfigurableResource
from pydantic import Field

from pipelines.transport.concurrency import ConcurrencyLimit
from pipelines.transport.http import (
    BodyCheck,
    ErrorCheck,
    RequestRate,
    RetryPolicy,
    Timeouts,
    VendorHttp,
)


class VendorZoneMissing(ValueError):
    """A vendor zone that must be configured is not: the run stops before any request."""


class VendorResource(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """A vendor's API as a Dagster resource. A subclass names its vendor, gives its credentials
    as an `httpx.Auth`, and may check bodies and error answers for the vendor's own codes."""

    vendor: ClassVar[str]
    check_body: ClassVar[BodyCheck | None] = None
    check_error: ClassVar[ErrorCheck | None] = None
    headers: ClassVar[Mapping[str, str]] = {}

    base_url: str = Field(description="the vendor's API origin")
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    data_origin: str = Field(default="vendor", description=(
        "`vendor`, or `sandbox` when base_url is the local vendor sandbox: its synthetic rows "
        "are marked so in the warehouse (core.message_events.sandbox)"))
    max_requests_per_second: int = Field(default=0, ge=0, description=(
        "proactive request budget, shared by a run's threads (0: none: the adaptive "
        "concurrency limit still backs off when the vendor throttles)"))
    max_concurrency: int = Field(default=8, description=(
        "requests under way at once at most (1: the sequential walk); halved whenever the "
        "vendor throttles, grown back one at a time"))

    @property
    def sandbox(self) -> bool:
        """Rows are marked as the sandbox's unless the origin is exactly `vendor`: a mistyped
        setting can only mark real rows synthetic, never the other way round."""
        return self.data_origin != "vendor"

    def vendor_zone(self, timezone: str | None, variable: str) -> ZoneInfo:
        """A zone the vendor's document says is the vendor's own (an account's, a tenant
        server's): it must be configured, as UTC would shift every time and day window without
        a word. Only the local sandbox, which states its zone, may fall back to UTC."""
        if timezone:
            return ZoneInfo(timezone)
        if self.sandbox:
            return ZoneInfo("UTC")
        raise VendorZoneMissing(
            f"{self.vendor}: {variable} is not set. Its timestamps are in the vendor's own zone "
            f"(see its document), which only you know: set {variable} to that IANA zone "
            "(e.g. America/New_York), even if it is UTC.")

    def auth(self) -> httpx.Auth:
        raise NotImplementedError

    def start_session(self, http: VendorHttp) -> Any:
        """The vendor's session for one run over an open HTTP layer."""
        raise NotImplementedError

    @contextmanager
    def session(self, *, retry: RetryPolicy | None = None,
                transport: httpx.BaseTransport | None = None) -> Iterator[Any]:
        """An open connection for one run (`retry` and `transport` are the tests' seam)."""
        with self.open_http(retry=retry, transport=transport,
                            concurrency=self.concurrency_limit()) as http:
            yield self.start_session(http)

    def concurrency_limit(self) -> ConcurrencyLimit:
        """A run's adaptive limit on requests under way, shared by all its threads."""
        # Bound to an environment variable, so only known at run time: checked here.
        if self.max_concurrency < 1:
            raise ValueError(f"{self.vendor}: the concurrency limit must be 1 or more, "
                             f"not {self.max_concurrency}")
        return ConcurrencyLimit(self.max_concurrency)

    def open_http(self, *, retry: RetryPolicy | None = None,
                  transport: httpx.BaseTransport | None = None,
                  rate: RequestRate | None = None, check_body: BodyCheck | None = None,
                  check_error: ErrorCheck | None = None,
                  concurrency: ConcurrencyLimit | None = None) -> VendorHttp:
        """The vendor's HTTP layer (`retry` and `transport` are the tests' seam). Threads that
        share a budget pass the same `rate`; by default each layer gets its own, paced
        strictly (no burst: a vendor that counts requests in any one-second window sees no
        more than its budget after a pause). An endpoint whose answers differ from the
        resource's usual ones passes its own checks."""
        return VendorHttp(self.vendor, self.base_url, auth=self.auth(), headers=type(self).headers,
                          timeouts=Timeouts(self.connect_timeout_s, self.read_timeout_s),
                          retry=retry or RetryPolicy(), check_body=check_body or type(self).check_body,
                          check_error=check_error or type(self).check_error,
                          rate=rate or RequestRate(self.max_requests_per_second, burst=1),
                          concurrency=concurrency,
                          transport=transport)
