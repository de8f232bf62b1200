"""Runtime settings from the environment (``RP_*`` and ``DATABASE_URL``), built by the caller.

Nothing builds a Settings object at import time: the CLI and each test build their own, so a
test can point at its own database file without touching global state.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data"
TEMPLATES_DIR = REPO_ROOT / "templates"


class Settings(BaseSettings):
    """Every knob of a deployment; each has an ``RP_`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="RP_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'routeplanner.sqlite'}",
        validation_alias=AliasChoices("DATABASE_URL", "RP_DATABASE_URL"),
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL via postgresql+psycopg://",
    )
    osm_path: Path = Field(
        default=SAMPLE_DIR / "heidelberg.osm.pbf", description="OSM extract of the sales region"
    )
    cache_dir: Path = Field(
        default=REPO_ROOT / "var" / "cache", description="prepared road graphs (arrays, by hash)"
    )
    max_snap_m: float = Field(
        default=1000.0, gt=0, description="farther than this from a road = unreachable"
    )
    host: str = Field(default="127.0.0.1", description="address the web server binds to")
    port: int = Field(default=8000, ge=1, le=65535, description="port of the web server")
    tile_url: str = Field(
        default="",
        description="optional map tile URL template ({z}/{x}/{y}); empty = offline vector map",
    )
    secret_key: str = Field(default="", description="signs session cookies; random if empty")
    session_https_only: bool = Field(
        default=False, description="send the session cookie over HTTPS only (set behind TLS)"
    )
    session_max_age_s: int = Field(
        default=14 * 24 * 3600, ge=60, description="seconds a login lasts"
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins per username within the window, then 429"
    )
    login_max_failures_per_ip: int = Field(
        default=20, ge=1, description="failed logins per client address within the window"
    )
    login_window_s: float = Field(
        default=300.0, gt=0, description="seconds failed logins are counted (sliding window)"
    )
    day_cache_size: int = Field(
        default=200,
        ge=0,
        description="day maps kept in memory per server process (with the current plan, "
        "accounts and reps); 0 = no caching",
    )
    day_cache_ttl_s: float = Field(
        default=1.0,
        ge=0,
        description="seconds a server process trusts its cached day pages without asking the "
        "database: the staleness bound for changes made by another process (this process's "
        "own writes are seen at once); 0 = ask on every request",
    )
    templates_dir: Path = Field(default=TEMPLATES_DIR, description="Jinja2 templates folder")
    timezone: str = Field(default="Europe/Berlin", description="IANA time zone of the plans")
    holidays_path: Path | None = Field(
        default=SAMPLE_DIR / "holidays-de-bw.csv",
        description="public holidays of the region (CSV date,name); empty = none",
    )
    plan_time_limit_s: float = Field(
        default=20.0, gt=0, description="search time per territory when planning"
    )
    public_url: str = Field(
        default="",
        description="address users reach the web app at, for links in calendar feeds and "
        "feed URLs; empty = the address of the request (CLI: http://HOST:PORT)",
    )
    calendar_refresh_minutes: int = Field(
        default=60, ge=5, le=7 * 24 * 60, description="refresh hint sent in calendar feeds"
    )
    calendar_cancelled_days: int = Field(
        default=14, ge=0, description="days a removed visit stays in feeds as CANCELLED"
    )
    calendar_travel_blocks: bool = Field(
        default=False, description="add travel-time events before each visit in calendar feeds"
    )

    @field_validator("holidays_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``RP_HOLIDAYS_PATH=`` (empty) switches public holidays off."""
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        """Fail at start-up, not on first query, when the URL is not one SQLAlchemy can use."""
        if "://" not in value:
            msg = f"DATABASE_URL {value!r} is not a URL such as sqlite:///file.db"
            raise ValueError(msg)
        return value
