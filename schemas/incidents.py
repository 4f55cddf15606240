"""The incident message: many alerts of one attack on one host, as one evolving record.

The worker folds per-flow alerts (``iotad.alert.v1``) into incidents keyed by
(gateway, category, host) and publishes an ``iotad.incident.v1`` event on the incidents topic when
an incident is opened, at most once per ``incidents.update_every_s`` while it grows, and when it
is closed after a quiet period. Every event carries the incident's full current state, so a
consumer only needs the latest event of an ``incident_id``. docs/incidents.md describes the
lifecycle; docs/alerts.md maps the fields to ECS and OCSF.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from iotad.schemas.messages import EpochMillis, Identifier, Severity, _Message

AlertId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class IncidentEvent(StrEnum):
    """What happened to the incident."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


class HostRole(StrEnum):
    """Which side of the flows the incident's host is on."""

    SOURCE = "source"
    TARGET = "target"
    DEVICE = "device"


class CloseReason(StrEnum):
    """Why an incident was closed."""

    QUIET = "quiet"
    CAPACITY = "capacity"


class HostCount(_Message):
    """A host and how many of the incident's alerts named it (at least that many)."""

    host: Identifier
    alerts: Annotated[int, Field(ge=1)]


class Incident(_Message):
    """One lifecycle event of an incident (topic ``iotad.incidents``, key = incident_id)."""

    model_config = _Message.model_config | {
        "title": "iotad incident v1",
        "json_schema_extra": {
            "description": "Alerts of one category on one host of one gateway, aggregated. "
            "Each event carries the whole current state. Mapping to ECS/OCSF: docs/alerts.md."
        },
    }

    schema_id: Literal["iotad.incident.v1"] = Field(default="iotad.incident.v1", alias="schema")
    incident_id: Annotated[
        str,
        Field(
            pattern=r"^[0-9a-f]{32}$",
            description="Hash of the incident key and its first alert's id: a replay after a "
            "restart gives the same id.",
        ),
    ]
    event: IncidentEvent
    sequence: Annotated[int, Field(ge=0, description="0 when opened, +1 per later event.")]
    emitted_at_ms: EpochMillis
    gateway_id: Identifier
    category: str = Field(description="Attack category of every alert in the incident.")
    host: Identifier = Field(description="The host the incident is about (part of its key).")
    host_role: HostRole = Field(
        description="target: the flows' destination (floods, web, brute force, spoofing); "
        "source: their origin (scans, Mirai); device: the gateway's device id, when the "
        "flows carried no address."
    )
    first_seen_ms: EpochMillis = Field(description="Detection time of the first alert.")
    last_seen_ms: EpochMillis = Field(description="Detection time of the latest alert.")
    duration_ms: Annotated[int, Field(ge=0)]
    alerts: Annotated[int, Field(ge=1, description="Alerts folded into the incident.")]
    labels: dict[str, Annotated[int, Field(ge=1)]] = Field(
        description="Alerts by fine-grained label (the category where the model has no label)."
    )
    severity: Severity = Field(description="The highest severity of its alerts.")
    rate_per_min: Annotated[float, Field(ge=0.0)] = Field(
        description="Alerts per minute over the last window_s."
    )
    peak_rate_per_min: Annotated[float, Field(ge=0.0)]
    window_s: Annotated[float, Field(gt=0.0)]
    top_sources: list[HostCount] = Field(description="Most frequent source addresses.")
    top_targets: list[HostCount] = Field(description="Most frequent destination addresses.")
    top_devices: list[HostCount] = Field(description="Most frequent gateway device ids.")
    alert_ids: list[AlertId] = Field(
        min_length=1, description="Representative alerts: the first ones and the latest."
    )
    close_reason: CloseReason | None = Field(
        default=None,
        description="quiet: no alert for quiet_s; capacity: closed early because the worker "
        "reached incidents.max_open. Null unless event is closed.",
    )


__all__ = ["CloseReason", "HostCount", "HostRole", "Incident", "IncidentEvent"]
