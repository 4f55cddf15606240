"""Model-control events on the models topic (``iotad.models``): promote, rollback and replies.

``iotad models promote`` and ``iotad models rollback`` publish a ``promote``/``rollback`` request
naming a bundle directory. Every worker loads and verifies that bundle in the background and
answers with ``activated`` (it now scores with the bundle) or ``refused`` (verification failed;
``reason`` says why and the worker keeps its current model). Replies carry the request's
``event_id`` in ``request_id`` and the answering worker in ``worker_id``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from iotad.schemas.messages import EpochMillis, ModelRef, _Message


class ControlAction(StrEnum):
    """What a model-control event asks for or reports."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"
    ACTIVATED = "activated"
    REFUSED = "refused"

    @property
    def is_request(self) -> bool:
        """True for the operator's requests (promote, rollback), False for worker replies."""
        return self in (ControlAction.PROMOTE, ControlAction.ROLLBACK)


EventId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class ModelControl(_Message):
    """One event on the model-control topic."""

    model_config = ConfigDict(
        title="iotad model control v1",
        json_schema_extra={
            "description": "A request to serve a model bundle (promote, rollback) or a worker's "
            "answer to one (activated, refused). Topic iotad.models, key = action."
        },
    )

    schema_id: Literal["iotad.model_control.v1"] = Field(
        default="iotad.model_control.v1", alias="schema"
    )
    event_id: EventId
    action: ControlAction
    issued_at_ms: EpochMillis
    bundle_path: str = Field(
        min_length=1, description="The bundle directory, as the workers' file system sees it."
    )
    model: ModelRef | None = Field(
        default=None, description="The bundle's name, version and model sha256, if readable."
    )
    request_id: EventId | None = Field(
        default=None, description="For activated/refused: the event_id of the request answered."
    )
    worker_id: str | None = Field(
        default=None, description="For activated/refused: which worker answers (host:pid)."
    )
    reason: str | None = Field(
        default=None, description="Why a bundle was refused, or the operator's note on a request."
    )


__all__ = ["ControlAction", "EventId", "ModelControl"]
