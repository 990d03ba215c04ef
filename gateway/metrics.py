"""`/metrics` for Prometheus, and the count of every HTTP request by its route template (docs/operations.md).

The request count is an ASGI middleware: a clock read and two in-memory updates per request, labelled by
the route's template (`/api/v1/tickets/{ticket_id}`, never the raw path, so the series stay few). The
outbox backlog is read from the database when Prometheus scrapes, not on any request's path. With several
web processes (or workers on the same machine) sharing PROMETHEUS_MULTIPROC_DIR, a scrape adds up all of them.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from time import perf_counter
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.deps import State
from tickets import outbox
from tickets.clock import utcnow
from tickets.metrics import HTTP_REQUESTS, HTTP_SECONDS
from tickets.storage.db import reader

router = APIRouter(include_in_schema=False)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # unless the app answers: an exception escaped

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            # The router wrote the matched route into the scope; unmatched paths are one series, not one each.
            route = getattr(scope.get("route"), "path", None) or ("<unmatched>" if status == 404 else "<other>")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(perf_counter() - started)


class OutboxBacklog(Collector):
    """The outbox rows not done yet, per topic, and the age of the oldest: read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Two gauge families from one statement."""
        with reader(self.engine).connect() as conn:
            found = outbox.backlog_by_topic(conn)
        now = utcnow()
        rows = GaugeMetricFamily("gateway_outbox_backlog", "Outbox rows not done yet (pending, queued, running)",
                                 labels=["topic"])
        ages = GaugeMetricFamily("gateway_outbox_oldest_age_seconds",
                                 "Age of the oldest outbox row not done yet (0 when there is none)", labels=["topic"])
        for topic in sorted(set(outbox.Topic) | set(found)):
            count, oldest = found.get(topic, (0, None))
            rows.add_metric([topic], count)
            ages.add_metric([topic], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        yield rows
        yield ages


@router.get("/metrics")
def metrics(state: State, authorization: Annotated[str, Header()] = "") -> Response:
    """The metrics in Prometheus's text format (with METRICS_TOKEN set, for `Authorization: Bearer <it>` only)."""
    token = state.settings.metrics_token
    if token and not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return PlainTextResponse("metrics need the bearer token\n", status_code=401,
                                 headers={"WWW-Authenticate": "Bearer"})
    if state.settings.prometheus_multiproc_dir:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=state.settings.prometheus_multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(OutboxBacklog(state.engine))
    return Response(generate_latest(counted) + generate_latest(scraped), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
