"""Service settings: the core's settings plus where data lives, the queue, and upload limits.

Read from the environment with the ``LINEPATROL_`` prefix (or passed explicitly to
``create_app``); nothing else in the service reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from linepatrol.detect_config import DEFAULTS, DetectorConfig, parse_tile
from linepatrol.geo.coverage import DEFAULT_COVERAGE, CoverageConfig
from linepatrol.settings import CoreSettings
from linepatrol_service.domain import DueHours
from linepatrol_service.warning_rules import PROTECTION_ZONE_M, DistanceTable, WarningHours

MiB = 1024 * 1024


class ServiceSettings(CoreSettings):
    data_dir: Path = Field(
        default=Path("linepatrol-data"),
        description="Directory holding the SQLite database and the photo store",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; "
        "default: SQLite (WAL) in the data directory",
    )
    queue: Literal["embedded", "celery"] = Field(
        default="embedded",
        description="embedded: a worker thread in the service process; celery: tasks on a broker",
    )
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Celery broker")
    celery_visibility_timeout_s: int = Field(
        default=3600, ge=1,
        description="Seconds before the broker redelivers an unacknowledged task",
    )
    concurrency: int = Field(
        default=16, ge=1, le=256,
        description="Blocking work at once (database calls, photo checks): the size of the "
        "request thread pool, from which the database connection pool is sized "
        "(backpressure.pool_sizes); more requests than that wait, and past a backlog they "
        "get 503 with Retry-After",
    )
    # Logs and metrics
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="Logs of linepatrol serve/worker: json (one object per line, with the "
        "request id), text, or auto: text on a terminal, else json",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log records written by linepatrol serve/worker",
    )
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="linepatrol worker (Celery): serve this worker's inference metrics for "
        "Prometheus on this port, all interfaces (the API process cannot see them); "
        "default: not served",
    )
    # Processing
    batch_size: int = Field(
        default=4, ge=1, le=64,
        description="Photos a worker claims and detects at a time (on a GPU at least the "
        "model's batch of photos, 8)",
    )
    worker_threads: int = Field(
        default=1, ge=1, le=16, description="Embedded mode: flights processed at once"
    )
    claim_lease_s: float = Field(
        default=300.0, gt=0,
        description="A batch claimed by a worker that has not finished it after this long is "
        "taken over by another worker (the first one is presumed dead)",
    )
    throttle_s: float = Field(
        default=0.0, ge=0,
        description="Pause before each batch (after claiming it), to leave the CPU to other "
        "work on a shared machine; tests use it to stop a worker in the middle of a batch",
    )
    tile: str = Field(
        default=str(DEFAULTS.tile),
        description="Tiled inference: auto, off, or a tile side in pixels",
    )
    conf: float = Field(default=DEFAULTS.conf, ge=0, le=1,
                        description="Detector confidence threshold")
    max_pixels: int = Field(default=200_000_000, ge=1, description="Decompression-bomb guard")
    require_gps: bool = Field(
        default=False, description="Reject photos without a GPS position at upload"
    )
    # Deadlines of confirmed defects, by grade (State Grid practice: a critical 危急 defect is
    # dealt with at once, within a day; serious 严重 within a week; general 一般 within the
    # maintenance cycle, here a quarter) -- each deployment sets its own
    due_critical_h: float = Field(default=24.0, gt=0,
                                  description="Hours from confirmation to the deadline of a "
                                  "critical (危急) defect")
    due_serious_h: float = Field(default=7 * 24.0, gt=0,
                                 description="Hours to the deadline of a serious (严重) defect")
    due_general_h: float = Field(default=90 * 24.0, gt=0,
                                 description="Hours to the deadline of a general (一般) defect")
    # Corridor cameras (linepatrol_service.camera_hazards, linepatrol.corridor)
    camera_confirm_k: int = Field(
        default=2, ge=1,
        description="A camera's hazard counts (enters the queue) once seen in this many of "
        "the camera's last camera_confirm_n photos",
    )
    camera_confirm_n: int = Field(
        default=3, ge=1, description="The window of a camera's photos camera_confirm_k counts in",
    )
    camera_hazard_end_after_s: float = Field(
        default=3600.0, gt=0,
        description="A camera's hazard not seen for this many seconds (of its photos' capture "
        "times) has left: its item ends (status ended)",
    )
    camera_min_iou: float = Field(
        default=0.3, gt=0, le=1,
        description="Two machine boxes in one camera's photos overlapping this much (IoU) "
        "are the same machine",
    )
    # Upload limits
    max_request_bytes: int = Field(default=2048 * MiB, ge=1, description="Largest upload request")
    max_body_bytes: int = Field(
        default=20 * MiB, ge=1,
        description="Largest body of any other request (JSON, forms, tower ledgers)",
    )
    max_file_bytes: int = Field(default=200 * MiB, ge=1, description="Largest single photo")
    max_files_per_request: int = Field(default=2000, ge=1)
    zip_max_entries: int = Field(default=5000, ge=1)
    zip_max_total_bytes: int = Field(default=20 * 1024 * MiB, ge=1)
    zip_max_ratio: float = Field(
        default=200.0, gt=1, description="Largest uncompressed/compressed ratio of a zip entry"
    )
    thumbnail_px: int = Field(default=320, ge=16, le=2048)
    # Visual coverage (GET /flights/{id}/coverage, /lines/{line}/coverage); the defaults are
    # the core's (linepatrol.geo.coverage says why)
    coverage_min_object_px: float = Field(
        default=DEFAULT_COVERAGE.min_object_px, gt=0,
        description="A tower or span is covered when a missing cap there spans at least this "
        "many pixels in a photo",
    )
    coverage_stale_after_days: int = Field(
        default=DEFAULT_COVERAGE.stale_after_days, ge=0,
        description="A line's tower or span not covered for longer than this is flagged stale",
    )

    # Hazard warnings (预警): distances (linepatrol_service.warning_rules says where each
    # default comes from), line voltages, and each step's deadline
    warning_zone_m: dict[float, float] = Field(
        default_factory=lambda: dict(PROTECTION_ZONE_M),
        description="Protection zone (m) per voltage band, keyed by the band's upper bound in "
        "kV (JSON, e.g. {\"10\": 5, \"110\": 10, ...}); default: 《电力设施保护条例》 art. 10 "
        "plus 25 m for 750 kV and 30 m for 1000 kV",
    )
    warning_margin_m: dict[str, float] = Field(
        default_factory=dict,
        description="Per hazard class, metres added to the zone instead of the default margin "
        "(booms: GB 26859 crane clearance; smoke_fire: 100 m placeholder; others 0)",
    )
    line_voltage_kv: dict[str, float] = Field(
        default_factory=dict,
        description="Voltage (kV) per line name; a line not listed takes the voltage leading "
        "its name ('500kV 江城线'), else DEFAULT_VOLTAGE_KV",
    )
    default_voltage_kv: float = Field(
        default=110.0, gt=0, description="Voltage of a line neither listed nor named with one")
    # PLACEHOLDERS, hours from (re)issue: set what the deployment's rules say
    warning_acknowledge_h: float = Field(default=0.5, gt=0,
                                         description="Hours to acknowledge a warning")
    warning_dispatch_h: float = Field(default=2.0, gt=0,
                                      description="Hours to have someone on site")
    warning_resolve_h: float = Field(default=24.0, gt=0,
                                     description="Hours to resolve a warning")
    warning_close_h: float = Field(default=72.0, gt=0,
                                   description="Hours to close a warning (the execution rate "
                                   "counts warnings closed within this)")
    # Outbound webhook: one per deployment; empty, nothing leaves the machine
    webhook_url: str = Field(default="", description="POST each warning event here (empty: "
                             "no deliveries)")
    webhook_secret: str = Field(default="", description="HMAC-SHA256 key of the "
                                "X-LinePatrol-Signature header")
    webhook_max_attempts: int = Field(default=8, ge=1, le=100,
                                      description="Attempts before a delivery is failed")
    webhook_base_delay_s: float = Field(default=5.0, gt=0,
                                        description="Delay before the 2nd attempt; doubled "
                                        "after each failed one")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Per attempt")
    webhook_poll_s: float = Field(default=2.0, gt=0,
                                  description="How often the worker looks for due deliveries")
    public_url: str = Field(default="", description="This service's address as receivers "
                            "reach it, for the link in webhook messages (empty: a path)")

    @model_validator(mode="after")
    def _window(self) -> ServiceSettings:
        if self.camera_confirm_k > self.camera_confirm_n:
            raise ValueError("camera_confirm_k must be at most camera_confirm_n")
        return self

    @field_validator("tile")
    @classmethod
    def _tile(cls, value: str) -> str:
        parse_tile(value)  # refuse a bad value at start-up, not at the first photo
        return value

    def detector_config(self) -> DetectorConfig:
        """The detector's configuration: these settings over :data:`DEFAULTS`."""
        return DetectorConfig(conf=self.conf, tile=parse_tile(self.tile))

    def due_hours(self) -> DueHours:
        return DueHours(self.due_critical_h, self.due_serious_h, self.due_general_h)

    def warning_table(self) -> DistanceTable:
        return DistanceTable(self.warning_zone_m, self.warning_margin_m)

    def warning_hours(self) -> WarningHours:
        return WarningHours(self.warning_acknowledge_h, self.warning_dispatch_h,
                            self.warning_resolve_h, self.warning_close_h)

    def coverage_config(self) -> CoverageConfig:
        """The coverage rule: these settings over the core's defaults."""
        return CoverageConfig(min_object_px=self.coverage_min_object_px,
                              stale_after_days=self.coverage_stale_after_days)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'linepatrol.db').resolve()}"

    @property
    def photo_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def model_dir(self) -> Path:
        """The model registry's files (:mod:`linepatrol_service.registry`)."""
        return self.data_dir / "models"

    @property
    def upload_tmp_dir(self) -> Path:
        return self.data_dir / "tmp"
