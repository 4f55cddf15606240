"""Typed, validated, frozen settings: the only module that reads the environment.

Sources, lowest to highest priority: defaults < TOML config files < environment (``IOTAD_``
prefix, ``__`` between nested names, e.g. ``IOTAD_KAFKA__BOOTSTRAP_SERVERS``) < CLI flags.

Settings are loaded once, by the CLI command, with :func:`load_settings`, and passed down as
arguments; nothing reads configuration at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from iotad.errors import ConfigError
from iotad.kafka_settings import (
    BrokerSecuritySettings,
    KafkaSettings,
    SaslMechanism,
    SecurityProtocol,
)
from iotad.kafka_settings import Section as _Section

ENV_PREFIX = "IOTAD_"
DEFAULT_CONFIG_FILE = Path("config/iotad.toml")

_config_files: ContextVar[tuple[Path, ...]] = ContextVar("iotad_config_files", default=())


def _default_cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iotad"


def _path_list(value: Any) -> Any:
    """A JSON list, or paths separated by ``os.pathsep`` (like ``PATH``), from a string."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part for part in text.split(os.pathsep) if part]


#: Paths from TOML/JSON lists, or from one string: ``a.pub:b.pub`` or ``["a.pub", "b.pub"]``.
PathList = Annotated[tuple[Path, ...], NoDecode]


class BrokerSettings(_Section):
    """The local single-node KRaft broker that ``iotad kafka up`` runs (no Docker needed)."""

    kafka_version: str = "3.9.1"
    scala_version: str = "2.13"
    host: str = "127.0.0.1"
    port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    home: Path = Field(default_factory=lambda: _default_cache_home() / "broker")
    heap_mb: int = Field(default=1024, ge=256)
    start_timeout_s: float = Field(default=90.0, gt=0)
    stop_timeout_s: float = Field(default=20.0, gt=0)
    # Where a broker keeps its KRaft log, config, log file and pid state (default: <home>/data).
    data_dir: Path | None = None
    # Maven's local repository for the jar download (default: Maven's own, ~/.m2/repository).
    maven_repo: Path | None = None
    security: BrokerSecuritySettings = Field(default_factory=BrokerSecuritySettings)

    @property
    def libs_dir(self) -> Path:
        """The broker's jars: ``<home>/<kafka_version>/libs``."""
        return self.home / self.kafka_version / "libs"

    @property
    def resolved_data_dir(self) -> Path:
        """``data_dir``, or ``<home>/data`` when not set."""
        return self.data_dir if self.data_dir is not None else self.home / "data"

    @property
    def listener_ports(self) -> dict[str, int]:
        """Every client listener's port by name: ``PLAINTEXT`` (unless turned off) first."""
        plain = {"PLAINTEXT": self.port} if self.security.plaintext else {}
        return {**plain, **self.security.secured_ports}

    @model_validator(mode="after")
    def _ports_differ(self) -> BrokerSettings:
        ports = {"broker.controller_port": self.controller_port}
        for name, port in self.listener_ports.items():
            field = "broker.port" if name == "PLAINTEXT" else f"broker.security.{name.lower()}_port"
            clash = [other for other, used in ports.items() if used == port]
            if clash:
                raise ValueError(f"{field} and {clash[0]} must differ, both are {port}")
            ports[field] = port
        return self


class TopicSettings(_Section):
    """Names and partitioning of the product's topics."""

    flows: str = "iotad.flows"
    alerts: str = "iotad.alerts"
    dead_letters: str = "iotad.flows.dlq"
    models: str = "iotad.models"
    incidents: str = "iotad.incidents"
    partitions: int = Field(default=4, ge=1)
    per_category_alerts: bool = False

    def alert_topic_for(self, category_slug: str) -> str:
        """Name of the per-category alert topic, e.g. ``iotad.alerts.ddos``."""
        return f"{self.alerts}.{category_slug}"


class BaselineSettings(_Section):
    """Per-gateway benign baselines in the worker (docs/baseline.md)."""

    # Online learning: a gateway without a baseline has its first learn_flows flows collected
    # (then fitted in a thread, and served from then on); 0 = off (promote baselines instead).
    learn_flows: int = Field(default=0, ge=0, le=1_000_000)
    # The false-alert rate on held-back benign flows the anomaly threshold is set for.
    target_far: float = Field(default=0.01, gt=0, lt=1)
    # The last share of the learning flows that is not fitted on but sets the threshold.
    held_back_fraction: float = Field(default=0.25, gt=0, lt=1)
    # The novelty model: distance to the k-th nearest of at most max_reference_rows flows.
    k: int = Field(default=3, ge=1, le=64)
    max_reference_rows: int = Field(default=256, ge=8, le=20_000)
    # At most this many gateways collect learning flows at once (bounded memory).
    max_learning_gateways: int = Field(default=64, ge=1)
    # Where learnt baselines are written (default: <stream.state_dir>/baselines).
    dir: Path | None = None
    seed: int = 42

    @model_validator(mode="after")
    def _enough_flows(self) -> BaselineSettings:
        if self.learn_flows and self.learn_flows * (1 - self.held_back_fraction) < self.k + 1:
            raise ValueError(
                f"baseline.learn_flows={self.learn_flows} leaves fewer than k+1={self.k + 1} "
                "flows to fit on; raise learn_flows"
            )
        return self


class StreamSettings(_Section):
    """The scoring worker."""

    app_id: str = "iotad-worker"
    batch_size: int = Field(default=1000, ge=1)
    batch_within_s: float = Field(default=0.05, gt=0)
    confidence_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    bundle: Path | None = None
    state_dir: Path = Field(default_factory=lambda: _default_cache_home() / "stream")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # The shape a message may have: arrays/objects nested at most this deep (a flow needs 3),
    # and at most this many entries in one array or object (a batch column has `count` ≤ 100,000).
    max_nesting_depth: int = Field(default=32, ge=3, le=1000)
    max_array_length: int = Field(default=100_000, ge=1000)
    # A batch is scored in slices of at most this many message bytes, so the documents parsed
    # at one time stay bounded whatever batch_size is (at least max_message_bytes).
    max_batch_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    top_k: int = Field(default=3, ge=1)
    # Dead letters keep at most this many bytes of the refused message (the rest stays at its
    # source offset), so a dead letter always fits in one Kafka message.
    dead_letter_original_bytes: int = Field(default=256 * 1024, ge=1024)
    # The output producer (alerts, dead letters): batch size per partition and linger.
    producer_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024, le=8 * 1024 * 1024)
    producer_linger_ms: int = Field(default=5, ge=0)
    # Run the scoring core in a worker thread so the event loop keeps fetching and heartbeating.
    score_in_thread: bool = True
    # Optional alert throttle: at most alert_throttle_max alerts per device and category per
    # window (0 = off: every attack flow raises an alert).
    alert_throttle_window_s: float = Field(default=0.0, ge=0.0)
    alert_throttle_max: int = Field(default=1, ge=1)
    # The throttle remembers at most this many (gateway, device, category) windows; beyond that
    # it forgets the oldest first (that device may then get one more alert, never fewer).
    alert_throttle_max_keys: int = Field(default=100_000, ge=1)
    # The output producer remembers the partition of at most this many record keys.
    producer_key_cache_size: int = Field(default=10_000, ge=1)
    # How often consumer lag per partition is refreshed for /metrics.
    lag_interval_s: float = Field(default=5.0, gt=0)
    # A worker that stops heartbeating for this long leaves the group; its partitions move on.
    session_timeout_s: float = Field(default=10.0, ge=6.0, le=90.0)
    # While the broker or an output topic is away, a batch's undelivered output is sent again
    # for this long before the worker gives up on the batch and stops (0: never again).
    publish_retry_s: float = Field(default=300.0, ge=0.0)
    # The worker's event loop: asyncio's own, or uvloop (libuv; no gain measured, bench/README.md).
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    # Faust's consumer: most records per fetch (None: Faust's default) and events buffered per
    # stream before the fetcher waits (None: max(4096, 2 x batch_size)).
    max_poll_records: int | None = Field(default=None, ge=1)
    stream_buffer_maxsize: int | None = Field(default=None, ge=1)
    baseline: BaselineSettings = Field(default_factory=lambda: BaselineSettings())
    # Per-class thresholds for the served classifier (calibration.v1 JSON, docs/baseline.md),
    # or a folder of them named <bundle reference>.json (models/calibration); applied only to the
    # bundle a file names, for gateways without a baseline.
    calibration: Path | None = None

    # Bundles must be signed by one of these Ed25519 public keys (PEM files, or folders whose
    # *.pub files all count; re-read at every load, so a key dropped into a folder counts at the
    # next hot swap). See docs/models.md, "Signed bundles".
    trusted_keys: PathList = ()
    # Serve bundles without a trusted signature (never one with a bad signature): for
    # development only; the worker logs a warning and sets iotad_model_unsigned to 1.
    allow_unsigned_bundles: bool = False

    @field_validator("trusted_keys", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        return _path_list(value)

    @model_validator(mode="after")
    def _batch_holds_a_message(self) -> StreamSettings:
        if self.max_batch_bytes < self.max_message_bytes:
            raise ValueError(
                f"stream.max_batch_bytes ({self.max_batch_bytes}) must be at least "
                f"stream.max_message_bytes ({self.max_message_bytes})"
            )
        return self

    @property
    def baseline_dir(self) -> Path:
        """Where the worker writes the baselines it learns."""
        return self.baseline.dir or Path(self.state_dir) / "baselines"


class IncidentSettings(_Section):
    """Aggregation of alerts into incidents (docs/incidents.md)."""

    # Off by default: a worker that holds the incidents table can skip flows around Faust's
    # table-recovery seek when it restarts (docs/incidents.md, "Known issue"). Turn it on where
    # incidents matter more than that risk; the demo does.
    enabled: bool = False
    # Rates (alerts per minute, and the peak) are measured over this sliding window.
    window_s: float = Field(default=60.0, ge=1, le=86_400)
    # An incident opens once this many alerts of its key fall within one window; a key whose
    # alerts stay below it opens none (its alerts stay on the alerts topic). 1: every alert opens.
    min_alerts: int = Field(default=3, ge=1, le=1_000_000)
    # An incident with no new alert for this long is closed.
    quiet_s: float = Field(default=120.0, gt=0, le=86_400)
    # At most one `updated` event per incident per this interval, however many alerts arrive.
    update_every_s: float = Field(default=30.0, gt=0, le=86_400)
    # How often the timer closes quiet incidents and sends pending updates.
    tick_s: float = Field(default=1.0, gt=0, le=60)
    # Open incidents one worker keeps; a new one beyond this closes the least recently seen.
    max_open: int = Field(default=10_000, ge=1)
    # Distinct source, target and device hosts counted per incident (space-saving counters).
    max_hosts: int = Field(default=64, ge=1, le=10_000)
    # Hosts listed in top_sources / top_targets / top_devices, and alert ids kept as examples.
    top_hosts: int = Field(default=5, ge=1, le=100)
    sample_alerts: int = Field(default=5, ge=1, le=100)


class ReplaySettings(_Section):
    """Defaults of ``iotad replay``."""

    gateway_id: str = "gw-replay"
    devices_per_file: int = Field(default=16, ge=1)
    # Flows per iotad.flow_batch.v1 envelope; 0 or 1 sends one iotad.flow.v1 message per flow.
    batch: int = Field(default=0, ge=0, le=100_000)
    linger_ms: int = Field(default=5, ge=0)


class CaptureSettings(_Section):
    """Defaults of ``iotad capture`` (docs/capture.md)."""

    gateway_id: str = "gw-capture"
    layout: Literal["cic39", "cic46"] = "cic39"
    # Packets per feature window (CIC's `Number`: 10 in most captures, 100 for the floods).
    window: int = Field(default=10, ge=1, le=10_000)
    # Windows per iotad.flow_batch.v1 envelope on the flows topic.
    batch: int = Field(default=100, ge=2, le=100_000)
    chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    # 46-column layout only: flows idle this long (capture time) are forgotten; at most
    # max_flows are tracked (the least recently seen are dropped first).
    flow_idle_timeout_s: float = Field(default=120.0, gt=0)
    max_flows: int = Field(default=100_000, ge=1)


#: The models ``iotad offline run`` can train (the values of ``iotad.offline.types.ModelKind``;
#: a test keeps the two in step).
ModelName = Literal["rf", "rf-compact", "lr", "ada", "perceptron", "dnn"]


class OfflineSettings(_Section):
    """The training pipeline."""

    out_dir: Path = Path("var/offline")
    protocol: Literal["holdout", "study"] = "holdout"
    tasks: tuple[Literal[2, 8, 34], ...] = (2, 8, 34)
    models: tuple[ModelName, ...] = Field(
        default=("rf", "rf-compact", "lr", "ada", "perceptron", "dnn"), min_length=1
    )
    category_map: Literal["study", "cic"] = "study"
    scheduler: str | None = None
    models_dir: Path = Path("models")
    # The layout to train on when the data holds several (default: the one with the most rows).
    layout: Literal["cic39", "cic46"] | None = None
    # Without --scheduler: Dask work runs on a local cluster (one worker process per core; the
    # fastest here, see bench/ingest_scale.py), local threads or a process pool.
    local_scheduler: Literal["threads", "processes", "distributed"] = "distributed"
    # Balance targets are the study's (8,450 / 33,800 / 84,500 per class) times this factor.
    target_scale: float = Field(default=1.0, gt=0, le=1)
    # SMOTE raises a class to at most this many times its own rows.
    max_oversample: float = Field(default=100.0, ge=1)
    # Holdout: the share of every capture run (or of a label's files) that is held out.
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    # export refuses a forest whose ONNX graph would be larger than this (estimated first):
    # building and checking it takes several times its size in memory.
    max_forest_onnx_mb: float = Field(default=1000.0, gt=0)
    # Export signs every bundle with this Ed25519 private key (``iotad models keygen``).
    signing_key: Path | None = None


class DemoSettings(_Section):
    """`iotad demo`: the whole system on this machine for a bounded time."""

    # Each run gets <run_root>/<timestamp>/ (summary.json, alerts.png, logs, broker data).
    run_root: Path = Path("var/demo")
    duration_s: float = Field(default=60.0, gt=0, le=3600)
    # Flows per second fed to the worker, and flows per batch envelope (0 or 1: single messages).
    rate: float = Field(default=1000.0, gt=0, le=100_000)
    batch: int = Field(default=50, ge=0, le=10_000)
    # The bundle served first and the one hot-swapped in; default: models/defaults.json.
    bundle: Path | None = None
    swap_bundle: Path | None = None
    # When the hot swap happens, as a fraction of the feed.
    swap_at: float = Field(default=0.5, gt=0, lt=1)
    partitions: int = Field(default=2, ge=1)
    broker_heap_mb: int = Field(default=512, ge=256)
    # Longest wait for the worker to become ready, and for it to account for every flow sent.
    ready_timeout_s: float = Field(default=180.0, gt=0)
    drain_timeout_s: float = Field(default=120.0, gt=0)
    # The worker learns the demo gateway's baseline online from this share of the flows of the
    # synthetic feed's first benign stretch (0 = no baseline: the classifier alone decides).
    baseline_learn_share: float = Field(default=0.5, ge=0, le=1)


class Settings(BaseSettings):
    """All iotad settings. Build with :func:`load_settings`, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    seed: int = 42
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    kafka: KafkaSettings = KafkaSettings()
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    topics: TopicSettings = TopicSettings()
    stream: StreamSettings = Field(default_factory=StreamSettings)
    incidents: IncidentSettings = IncidentSettings()
    replay: ReplaySettings = ReplaySettings()
    capture: CaptureSettings = CaptureSettings()
    offline: OfflineSettings = OfflineSettings()
    demo: DemoSettings = DemoSettings()

    @model_validator(mode="before")
    @classmethod
    def _bootstrap_follows_the_local_broker(cls, data: Any) -> Any:
        """Clients reach ``broker.host:broker.port`` unless ``kafka.bootstrap_servers`` is set.

        So ``IOTAD_BROKER__PORT=29092 iotad kafka up`` and then ``iotad replay`` with the same
        environment talk to that broker, with no second setting to keep in step.
        """
        if not isinstance(data, dict):
            return data
        broker, kafka = data.get("broker"), data.get("kafka", {})
        if not isinstance(broker, dict) or not isinstance(kafka, dict):
            return data
        if "bootstrap_servers" in kafka or not {"host", "port"} & broker.keys():
            return data
        defaults = BrokerSettings.model_fields
        host = broker.get("host", defaults["host"].default)
        port = broker.get("port", defaults["port"].default)
        return {**data, "kafka": {**kafka, "bootstrap_servers": f"{host}:{port}"}}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = _config_files.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        # Later TOML files win over earlier ones; pydantic-settings gives earlier sources priority.
        sources.extend(TomlConfigSettingsSource(settings_cls, toml_file=f) for f in reversed(files))
        return tuple(sources)


def config_files_from_env(explicit: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The TOML files to read: explicit ones, else ``IOTAD_CONFIG``, else ``config/iotad.toml``."""
    if explicit:
        files = tuple(explicit)
    elif os.environ.get("IOTAD_CONFIG"):
        files = tuple(Path(p) for p in os.environ["IOTAD_CONFIG"].split(os.pathsep) if p)
    elif DEFAULT_CONFIG_FILE.is_file():
        files = (DEFAULT_CONFIG_FILE,)
    else:
        files = ()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"config file not found: {', '.join(missing)}")
    return files


def child_environment(
    settings: Settings, sections: Sequence[str] = ("kafka", "topics", "stream", "incidents")
) -> dict[str, str]:
    """The environment for a child ``iotad`` process that must see exactly these settings.

    This process's environment without its ``IOTAD_*`` variables, plus ``sections`` of
    ``settings`` (and the log level and format) as ``IOTAD_<SECTION>__<NAME>`` variables.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for section in sections:
        for name, value in getattr(settings, section).model_dump(mode="json").items():
            if value is None:
                continue
            secret = getattr(getattr(settings, section), name)
            if isinstance(secret, SecretStr):  # the child needs the secret itself
                text = secret.get_secret_value()
            elif isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, list | dict):
                text = json.dumps(value)
            else:
                text = str(value)
            env[f"{ENV_PREFIX}{section.upper()}__{name.upper()}"] = text
    env[f"{ENV_PREFIX}LOG_LEVEL"] = settings.log_level
    env[f"{ENV_PREFIX}LOG_FORMAT"] = settings.log_format
    return env


@contextmanager
def _reading(files: tuple[Path, ...]) -> Iterator[None]:
    token = _config_files.set(files)
    try:
        yield
    finally:
        _config_files.reset(token)


def _got(error: Any) -> str:
    """`` (got <input>)`` for a field error; nothing for a section (it would show every value
    of the section, passwords included) or a secret field."""
    value = error.get("input")
    if isinstance(value, Mapping) or any("password" in str(p) for p in error["loc"]):
        return ""
    return f" (got {value!r})"


def load_settings(
    config_files: Sequence[Path] = (), overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Load settings from every source; ``overrides`` (CLI flags) win over everything.

    ``overrides`` is nested like the settings, e.g. ``{"kafka": {"bootstrap_servers": "h:9092"}}``;
    nested values are merged with the other sources, not replaced.

    Raises
    ------
    ConfigError
        naming each invalid field, what it expected and what it got.
    """
    files = config_files_from_env(config_files)
    try:
        with _reading(files):
            return Settings(**dict(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}{_got(err)}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint=f"check {ENV_PREFIX}* environment variables and config files "
            f"{[str(f) for f in files]}",
        ) from exc


__all__ = [
    "BrokerSecuritySettings",
    "BaselineSettings",
    "BrokerSettings",
    "CaptureSettings",
    "DemoSettings",
    "IncidentSettings",
    "KafkaSettings",
    "ModelName",
    "OfflineSettings",
    "ReplaySettings",
    "SaslMechanism",
    "SecurityProtocol",
    "Settings",
    "StreamSettings",
    "TopicSettings",
    "child_environment",
    "load_settings",
]
