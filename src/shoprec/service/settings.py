"""Service configuration from the environment (prefix SHOPREC_) or explicit arguments."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shoprec.store import url_beside_bundle


class ServiceSettings(BaseSettings):
    """What an operator sets; everything else follows from the bundle."""

    model_config = SettingsConfigDict(env_prefix="SHOPREC_", extra="ignore")

    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite beside the bundle")
    database_schema: str | None = Field(None, description="PostgreSQL schema for the tables")
    seed_store: bool = Field(
        False, description="fill an empty store from the bundle's catalogue and interactions; "
                           "without it an empty or missing store is refused (a lost database "
                           "must not be silently replaced by old data)")
    api_key: str | None = Field(None, description="the shop's key: write endpoints, admin, and "
                                                  "any shopper's data")
    token_secret: str | None = Field(
        None, description="secret that signs per-shopper tokens; default: derived from the key")
    demo_shoppers: int = Field(
        0, ge=0, le=100, description="bundle shoppers the web page offers to 'shop as', with "
                                     "their tokens in the page (a demo setting: `shoprec demo`)")
    lang: Literal["auto", "en", "zh"] = Field(
        "auto", description="language of the web page: auto = the browser's Accept-Language, "
                            "else the catalogue's own language; `?lang=` overrides per visit")
    max_batch_events: int = Field(1000, ge=1, description="most events in one POST /events")
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="largest request body accepted on any route: a larger "
                                        "declared Content-Length is refused before reading, a "
                                        "chunked body once that many bytes arrived (413)")
    max_json_depth: int = Field(8, ge=4, le=64, description="deepest JSON nesting accepted")
    max_k: int = Field(100, ge=1, le=100, description="most recommendations one request may ask for")
    max_history_events: int = Field(
        500, ge=1, description="most recent events of one shopper that recommendations and "
                               "profiles read (older ones stay stored and exported)")
    export_page_events: int = Field(1000, ge=1, description="events per page of an export")
    auth_failures_allowed: int = Field(
        10, ge=1, description="wrong keys or tokens one client may send per window before 429")
    auth_failure_window_s: float = Field(60.0, gt=0, description="window of that count (s)")
    trusted_proxies: str = Field(
        "", description="comma-separated addresses or networks (10.0.0.0/8) of reverse proxies "
                        "whose X-Forwarded-For names the client, or * for any; empty (default): "
                        "X-Forwarded-For is ignored and every limit counts the socket's peer")
    write_timeout_s: float = Field(
        5.0, gt=0, description="longest a write waits for the store before answering 503")
    search_warmup: bool = Field(
        False, description="read the catalogue's texts for search at start, not on first search")
    search_wait_s: float = Field(
        2.0, ge=0, le=60, description="while the start's search warm-up runs, how long a search "
                                      "or chat request waits for it before answering 503 with "
                                      "Retry-After (the rest of the API answers meanwhile)")
    chat_reader: str = Field(
        "encoder", description="how chat reads a message (shoprec.engine.reading): encoder "
                               "(default: brands on evidence, categories from the language "
                               "model's calibrated belief) or rules (the shop's word lists)")
    retrain_tolerance: float = Field(
        0.05, ge=0.0, le=1.0,
        description="a retrained model is kept when its hold-out NDCG@10 is at least "
                    "(1 - tolerance) x the serving one's")
    retrain_min_shoppers: int = Field(
        10, ge=1, description="fewest fresh shoppers (with a held-out event and earlier history) "
                              "a retrain compares champion and challenger on; fewer: kept")
    serve_precomputed: bool = Field(
        False, description="answer GET /recommendations without filters from the list `shoprec "
                           "precompute` stored for the shopper, while it is fresh (same bundle, "
                           "no newer event of theirs); the model answers otherwise")
    exposure_logging: bool = Field(
        True, description="store every served list (request id, shopper, variant, surface, "
                          "items) for experiments and attribution")
    exposure_flush_s: float = Field(
        0.25, gt=0, le=60, description="seconds between two batched exposure writes (another "
                                       "worker's queued rows of a deleted shopper are deleted "
                                       "again 2 intervals + 0.25 s after DELETE)")
    exposure_batch: int = Field(500, ge=1, description="queued exposures that trigger a write "
                                                       "before the interval ends")
    shutdown_grace_s: float = Field(
        10.0, gt=0, le=600, description="on SIGTERM, how long requests in flight may take to "
                                        "finish; a worker still busy then is killed (logged)")
    keep_generations: int = Field(
        3, ge=1, description="newest bundle generations kept for rollback (generation 0, the "
                             "original bundle, and the serving one are always kept)")

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        value = value.strip()
        if value == "*":
            return value
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.1, "
                                 "10.0.0.0/8), nor * for any") from None
        return ",".join(p.strip() for p in value.split(",") if p.strip())

    def uvicorn_options(self) -> dict[str, Any]:
        """The options every uvicorn server of this service runs with (single process, each
        pre-fork worker, the tests' servers): X-Forwarded-For is believed only from
        `trusted_proxies` (uvicorn's own default trusts it from 127.0.0.1, so anyone reaching
        the port through a local proxy, or on the machine, could pick the address the key brake
        counts)."""
        return {"log_level": "warning", "proxy_headers": bool(self.trusted_proxies),
                "forwarded_allow_ips": self.trusted_proxies or None,
                "timeout_graceful_shutdown": int(self.shutdown_grace_s)}

    def resolved_database_url(self, bundle_dir: Path) -> str:
        """The configured URL, or an SQLite file next to (not inside) the bundle folder (the
        same for every generation of it)."""
        return self.database_url or url_beside_bundle(bundle_dir)

    def ensure_api_key(self) -> str:
        """The configured key, or a fresh random one for this run (printed by `shoprec serve`)."""
        if not self.api_key:
            self.api_key = secrets.token_urlsafe(24)
        return self.api_key

    def shopper_token(self, user_id: str, version: str) -> str:
        """The token that lets one shopper (or the shop's page acting for them) read their own
        data and send their events: an HMAC of the id and the shopper's token version (stored
        with their data, `shoprec.store.shopper_keys`), so deleting the shopper, which deletes
        the version, ends every token issued to them."""
        secret = self.token_secret or hmac.new(
            self.ensure_api_key().encode(), b"shoprec shopper tokens", hashlib.sha256).hexdigest()
        return hmac.new(secret.encode(), f"shopper:{user_id}:{version}".encode(),
                        hashlib.sha256).hexdigest()[:32]

