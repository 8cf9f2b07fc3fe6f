"""Prometheus metrics of one app instance (own registry, so several apps in one process —
tests, benchmarks — never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
        self.retrains = Counter("shoprec_retrains", "retrain attempts", ["outcome"], registry=r)
        self.catalogue_items = Gauge("shoprec_catalogue_items", "items in the catalogue",
                                     registry=r)
        self.model_items = Gauge("shoprec_model_items", "items the serving model ranks",
                                 registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
