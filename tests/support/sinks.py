"""An in-memory FlowSink: the replay loop and the demo feed write to it instead of Kafka."""

from __future__ import annotations


class MemorySink:
    """Keeps every message it is given; all of them count as delivered."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes, int]] = []

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        self.messages.append((key, value, flows))

    async def flush(self) -> None:
        return None

    @property
    def delivered_flows(self) -> int:
        return sum(n for _, _, n in self.messages)

    @property
    def failed_flows(self) -> int:
        return 0

    @property
    def first_error(self) -> str | None:
        return None
