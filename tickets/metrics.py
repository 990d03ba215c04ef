"""Prometheus metrics: what the gateway counts, defined once for every layer that counts (docs/operations.md).

Counting is cheap by design: an increment or an observation in memory, or, with several processes
(PROMETHEUS_MULTIPROC_DIR set), in a memory-mapped file; never a network or database call on a request's
path. What happened in a transaction is counted when it commits (`on_commit`): a rolled-back ticket or
signature is not counted. Figures read from the database (the outbox backlog) are computed when Prometheus
scrapes (gateway/metrics.py).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from prometheus_client import Counter, Histogram

from tickets.storage.db import after_commit

# Requests answer in milliseconds (WeChat's webhook must answer within 5 s); jobs wait on the platforms.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter("gateway_http_requests", "HTTP requests by method, route template and status",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("gateway_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
                         ["method", "route"], buckets=HTTP_BUCKETS)
MESSAGES = Counter("gateway_messages", "Citizens' messages and events taken in, by channel and kind",
                   ["channel", "kind"])
DEFERRED = Counter("gateway_messages_deferred",
                   "Pushes answered later by a job because they waited too long to be answered in time, by channel",
                   ["channel"])
TICKETS_OPENED = Counter("gateway_tickets_opened", "Tickets opened, by channel, hot-topic zone and urgency (counted "
                         "once routed: a chat's ticket by the worker that routes it, tickets/opening.py)",
                         ["channel", "zone", "urgency"])
NOTIFICATIONS = Counter("gateway_notifications", "Notification delivery attempts: sent by method, or failed or "
                        "retried by channel", ["method", "outcome"])
SIGNATURES = Counter("gateway_signatures", "Joint-petition signatures taken, by channel and whether flagged for "
                     "review (a surge from one source)", ["channel", "flagged"])
WARNINGS = Counter("gateway_warnings", "Early warnings raised, by kind and level", ["kind", "level"])
JOB_SECONDS = Histogram("gateway_job_duration_seconds", "Time to run one outbox row's work, by topic and outcome",
                        ["topic", "outcome"], buckets=JOB_BUCKETS)


def on_commit(conn: sa.Connection, count: Callable[[], None]) -> None:
    """Call `count` when the connection's transaction in progress commits (not when it rolls back)."""
    after_commit(conn, count)
