#!/usr/bin/env python3
"""A second exporter for promdash's scrape tests, written with Debian's
python3-prometheus-client: the same request metrics as promdash-service, served by
Python's own client library (which answers Prometheus's Accept header with OpenMetrics,
so the scrapers read that format from it).

    exporter.py PORT

Listens on 127.0.0.1:PORT only. GET /process counts one request (?fail=1 answers 500
and counts an error); GET /metrics is the exposition; anything else is 404 and counted
with route="unmatched".
"""

import sys
import time
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

registry = CollectorRegistry()
REQUESTS = Counter(
    "app_request_count",
    "Total number of requests received",
    ["method", "route", "status"],
    registry=registry,
)
ERRORS = Counter(
    "app_error_count",
    "Total number of failed requests",
    ["method", "route", "status"],
    registry=registry,
)
LATENCY = Histogram(
    "app_request_latency_seconds",
    "Latency in seconds for each request",
    ["method", "route"],
    registry=registry,
)
IN_FLIGHT = Gauge(
    "app_in_flight_requests", "Number of requests being served right now", registry=registry
)
BUILD = Gauge("app_build_info", "Build information", ["version"], registry=registry)
BUILD.labels(version="exporter.py").set(1)

metrics_app = make_wsgi_app(registry)


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/metrics":
        return metrics_app(environ, start_response)
    method = environ.get("REQUEST_METHOD", "GET")
    started = time.perf_counter()
    with IN_FLIGHT.track_inprogress():
        if path == "/process":
            route = "/process"
            fail = parse_qs(environ.get("QUERY_STRING", "")).get("fail") == ["1"]
            status = "500" if fail else "200"
            body = b'{"error":"simulated failure"}' if fail else b'{"ok":true}'
        else:
            route, status, body = "unmatched", "404", b'{"error":"not found"}'
    REQUESTS.labels(method=method, route=route, status=status).inc()
    if status != "200":
        ERRORS.labels(method=method, route=route, status=status).inc()
    LATENCY.labels(method=method, route=route).observe(time.perf_counter() - started)
    reason = {"200": "OK", "404": "Not Found", "500": "Internal Server Error"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def main():
    port = int(sys.argv[1])
    server = make_server("127.0.0.1", port, app, handler_class=QuietHandler)
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
