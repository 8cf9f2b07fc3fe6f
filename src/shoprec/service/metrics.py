"""Prometheus metrics of one app instance (own registry, so several apps in one process —
tests, benchmarks — never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: HTTP methods counted by name; any other (invented) method is counted as "other", so a client
#: cannot grow the label set without bound.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class ShopMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("shoprec_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "shoprec_http_request_seconds", "time to answer, by route", ["route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.events = Counter("shoprec_events_stored", "events committed to the store",
                              ["event"], registry=r)
        self.recommendations = Counter("shoprec_recommendations", "recommendation lists served",
                                       ["strategy"], registry=r)
        self.score_batch = Histogram(
            "shoprec_score_batch_size", "shoppers scored in one model call (service.batching)",
            registry=r, buckets=(1, 2, 4, 8, 12, 16))
        self.retrains = Counter("shoprec_retrains", "retrain attempts", ["outcome"], registry=r)
        self.catalogue_items = Gauge("shoprec_catalogue_items", "items in the catalogue",
                                     registry=r)
        self.model_items = Gauge("shoprec_model_items", "items the serving model ranks",
                                 registry=r)
        self.store_up = Gauge("shoprec_store_up", "1 when the last health check could read and "
                                                  "write the store", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
