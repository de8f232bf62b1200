"""Runtime settings from the environment (``RP_*`` and ``DATABASE_URL``), built by the caller.

Nothing builds a Settings object at import time: the CLI and each test build their own, so a
test can point at its own database file without touching global state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from routeplanner.model.performance import parse_potential
from routeplanner.roads.model import RoadModel
from routeplanner.travel.timeofday import TimeOfDayProfile

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data"
TEMPLATES_DIR = REPO_ROOT / "templates"


class Settings(BaseSettings):
    """Every knob of a deployment; each has an ``RP_`` environment variable."""

    model_config = SettingsConfigDict(
        env_prefix="RP_", extra="ignore", populate_by_name=True, env_nested_delimiter="__"
    )

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'routeplanner.sqlite'}",
        validation_alias=AliasChoices("DATABASE_URL", "RP_DATABASE_URL"),
        description="any SQLAlchemy URL: a SQLite file by default; PostgreSQL as "
        "postgresql+psycopg://user@host/db",
    )
    osm_path: Path = Field(
        default=SAMPLE_DIR / "heidelberg.osm.pbf",
        description="OSM extract of the sales region (.osm.pbf, .osm, .osm.gz or .osm.bz2)",
    )
    cache_dir: Path = Field(
        default=REPO_ROOT / "var" / "cache",
        description="prepared road graphs: numpy arrays keyed on the OSM file's hash and the "
        "settings",
    )
    max_snap_m: float = Field(
        default=1000.0,
        gt=0,
        description="metres: a point farther than this from a drivable road is reported "
        "unreachable by id, never moved",
    )
    rush_hours: TimeOfDayProfile = Field(
        default_factory=TimeOfDayProfile,
        description="rush-hour factors per road class and weekday for departure-dependent "
        "day routes (docs/travel.md)",
    )
    road_model: RoadModel = Field(
        default_factory=RoadModel,
        description="how drives are priced: speeds, waits at signals and signs, turns "
        "(docs/travel.md); RP_ROAD_MODEL__FREE_FLOW=true gives the old free-flow times",
    )
    host: str = Field(default="127.0.0.1", description="address the web server binds to")
    port: int = Field(default=8000, ge=1, le=65535, description="port of the web server")
    tile_url: str = Field(
        default="",
        description="optional tile server URL template ({z}/{x}/{y}) for a richer map "
        "background; empty = the offline map drawn from our own road network",
    )
    secret_key: str = Field(
        default="",
        description="signs session cookies; empty = a random key per start, so every restart "
        "logs everyone out: set it in a deployment",
    )
    session_https_only: bool = Field(
        default=False,
        description="mark the session cookie Secure (sent over HTTPS only); set it behind TLS",
    )
    session_max_age_s: int = Field(
        default=14 * 24 * 3600,
        ge=60,
        description="seconds a login lasts at most, however active (default 14 days)",
    )
    session_idle_timeout_s: int = Field(
        default=12 * 3600,
        ge=60,
        description="seconds without a request after which a login ends (default 12 hours)",
    )
    password_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes when hashing a new password"
    )
    password_memory_kib: int = Field(
        default=64 * 1024,
        ge=32,
        description="argon2id memory in KiB when hashing a new password (default 64 MiB)",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="failed logins for one username from one client address within the "
        "window that cost nothing; after them each attempt from that client waits 1 s, 2 s, "
        "4 s, ... after the last failure (429), never more than the window",
    )
    login_max_failures_per_ip: int = Field(
        default=20,
        ge=1,
        description="failed logins from one client address (any usernames) within the window "
        "before its attempts wait in the same doubling way",
    )
    login_window_s: float = Field(
        default=900.0,
        gt=0,
        description="seconds a failed login is remembered; also the longest wait",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="bytes: largest request body other than a file upload (JSON, forms); a "
        "larger one gets 413 before it is read",
    )
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        description="bytes: largest file upload (CSV/XLSX imports, rules and GeoJSON files), "
        "and the largest table file an import reads",
    )
    import_max_rows: int = Field(
        default=50_000, ge=1, description="data rows a CSV/XLSX import may have"
    )
    import_max_columns: int = Field(
        default=60, ge=1, description="columns a CSV/XLSX import may use"
    )
    import_max_uncompressed_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="bytes an XLSX workbook may unzip to (its parts together); larger ones are "
        "refused before any cell is read",
    )
    day_cache_size: int = Field(
        default=200,
        ge=0,
        description="drawn day maps, finished day pages / API days and performance dashboard "
        "answers kept in memory per server process (with the current plan, accounts and reps); "
        "0 turns these caches off",
    )
    day_cache_ttl_s: float = Field(
        default=1.0,
        ge=0,
        description="seconds a server process serves cached day pages, logins and API tokens "
        "without asking the database: the staleness bound for changes made by another process "
        "(its own writes show at once); 0 = one version query per request",
    )
    templates_dir: Path = Field(default=TEMPLATES_DIR, description="Jinja2 templates folder")
    timezone: str = Field(default="Europe/Berlin", description="IANA time zone of plans")
    holidays_path: Path | None = Field(
        default=SAMPLE_DIR / "holidays-de-bw.csv",
        description="public holidays of the region (CSV date,name); empty = none",
    )
    plan_time_limit_s: float = Field(
        default=20.0, gt=0, description="search seconds per territory when planning"
    )
    visit_grace_days: int = Field(
        default=0,
        ge=0,
        le=7,
        description="days after today (in the plan's time zone) whose stops may already be "
        "reported; 0 = only days up to today",
    )
    repair_workers: int = Field(
        default=2, ge=1, le=64, description="repairs of different reps the server runs at once"
    )
    repair_queue: int = Field(
        default=32,
        ge=1,
        le=10_000,
        description="repairs waiting or running at once; beyond, a report that "
        "needs a new repair is answered 503 (nothing stored)",
    )
    repair_rate_per_minute: int = Field(
        default=6,
        ge=1,
        le=600,
        description="new repairs one rep's reports may start per minute; beyond, 429 (nothing "
        "stored); reports joining a waiting repair are not counted",
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=4096,
        description="cores that plan territories side by side when Ray runs on this machine; "
        "0 = all cores, 1 = one after the other in this process (no Ray)",
    )
    ray_address: str = Field(
        default="",
        max_length=500,
        description="Ray cluster to plan territories on (auto, or ray://head:10001); empty = "
        "start Ray on this machine when a run has enough territories (docs/deployment.md)",
    )
    fanout_min_territories: int = Field(
        default=6,
        ge=1,
        description="runs with fewer territories plan in this process: starting the Ray "
        "workers costs more than it saves on a few territories (benchmarks/RESULTS.md)",
    )
    undo_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=600,
        description="seconds a missed or cancelled report can be undone on the phone; the plan "
        "repair starts after them",
    )
    visit_outcomes: str = Field(
        default="order,no order,follow-up needed,not met",
        max_length=2000,
        description="comma-separated outcomes the day page suggests for a done visit, the "
        "first four as one-tap Done buttons (a rep may type another, up to 60 characters)",
    )
    day_search: Literal["lns", "hgs"] = Field(
        default="hgs",
        description="search that chooses each visit's day: hgs (hybrid genetic search: 0.25 % "
        "from the best known periodic-VRP plans against 2.22 % for lns; on the sample's roads "
        "the same visits and adherence with less driving) or lns (the earlier large "
        "neighbourhood search; benchmarks/RESULTS.md)",
    )
    learning_apply_unconfirmed: bool = Field(
        default=False,
        description="plan with travel factors and visit lengths learned from recorded visits "
        "before a manager confirms them (/learning); confirmed values always apply",
    )
    trusted_hosts: str = Field(
        default="",
        description="comma-separated host names the web app answers to (`*.example.org` for "
        "its subdomains, `*` for any); a request for another host gets 400. Empty = "
        "localhost, 127.0.0.1, ::1, RP_HOST when it names one address, and RP_PUBLIC_URL's "
        "host",
    )
    class_potential: str = Field(
        default="A:4000,B:1500,C:500",
        max_length=500,
        description="monthly revenue per account of each value class, for default revenue "
        "targets while no sales figures are stored (CLASS:AMOUNT, comma-separated)",
    )
    public_url: str = Field(
        default="",
        description="address users reach the web app at, for feed URLs and links in calendar "
        "events; empty = the request's address (CLI: http://RP_HOST:RP_PORT)",
    )
    calendar_refresh_minutes: int = Field(
        default=60,
        ge=5,
        le=7 * 24 * 60,
        description="minutes; the REFRESH-INTERVAL / X-PUBLISHED-TTL hint in calendar feeds",
    )
    calendar_cancelled_days: int = Field(
        default=14,
        ge=0,
        description="days a visit removed by a re-plan stays in feeds as STATUS:CANCELLED",
    )
    calendar_travel_blocks: bool = Field(
        default=False,
        description='add a "Travel to …" event before each visit in calendar feeds',
    )

    def allowed_hosts(self) -> tuple[str, ...]:
        """The host patterns of ``trusted_hosts``, or the default it describes."""
        listed = tuple(h.strip().lower() for h in self.trusted_hosts.split(",") if h.strip())
        if listed:
            return listed
        found = ["localhost", "127.0.0.1", "::1"]
        if self.host not in ("", "0.0.0.0", "::"):
            found.append(self.host.lower())
        public = urlsplit(self.public_url).hostname if self.public_url else None
        if public:
            found.append(public.lower())
        return tuple(dict.fromkeys(found))

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

    @field_validator("class_potential")
    @classmethod
    def _potential_parses(cls, value: str) -> str:
        """Fail at start-up, not on the performance page, when a class amount does not parse."""
        parse_potential(value)
        return value

    @property
    def potential(self) -> dict[str, float]:
        """``class_potential`` as amounts per value class."""
        return parse_potential(self.class_potential)
