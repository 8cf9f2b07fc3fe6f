"""Service configuration from the environment (prefix SHOPREC_) or explicit arguments."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What an operator sets; everything else follows from the bundle."""

    model_config = SettingsConfigDict(env_prefix="SHOPREC_", extra="ignore")

    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite beside the bundle")
    database_schema: str | None = Field(None, description="PostgreSQL schema for the tables")
    api_key: str | None = Field(None, description="key for write endpoints (items, delete, retrain)")
    max_batch_events: int = Field(1000, ge=1, description="most events in one POST /events")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="largest request body accepted")
    max_k: int = Field(100, ge=1, description="most recommendations one request may ask for")
    search_warmup: bool = Field(
        False, description="read the catalogue's texts for search at start, not on first search")
    retrain_tolerance: float = Field(
        0.05, ge=0.0, le=1.0,
        description="a retrained model is kept when its hold-out NDCG@10 is at least "
                    "(1 - tolerance) x the serving one's")

    def resolved_database_url(self, bundle_dir: Path) -> str:
        """The configured URL, or an SQLite file next to (not inside) the bundle folder, which
        retraining replaces."""
        if self.database_url:
            return self.database_url
        path = Path(bundle_dir).resolve()
        return f"sqlite:///{path.with_name(path.name + '.store.sqlite')}"

    def ensure_api_key(self) -> str:
        """The configured key, or a fresh random one for this run (printed by `shoprec serve`)."""
        if not self.api_key:
            self.api_key = secrets.token_urlsafe(24)
        return self.api_key
