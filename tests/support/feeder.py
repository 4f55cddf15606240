"""A background feed of single flows at a steady pace, for tests that change things mid-stream."""

from __future__ import annotations

import threading
import time

import orjson

from iotad.schemas.features import FeatureLayout
from iotad.settings import Settings
from support.bundles import synthetic_rows
from support.kafka import produce
from support.worker import flow_message


class Feeder(threading.Thread):
    """Sends single flows at a steady pace until stopped; remembers each flow's send time.

    ``classes`` are the classes the synthetic rows are drawn from (those of the bundle served).
    """

    def __init__(self, settings: Settings, classes: tuple[str, ...]) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.sent: dict[str, float] = {}
        self.halt = threading.Event()
        self.rows, _ = synthetic_rows(400, FeatureLayout.CIC39, classes, seed=7)

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            chunk = []
            for _ in range(20):
                flow_id = f"f{i}"
                now_ms = int(time.time() * 1000)
                document = flow_message(self.rows[i % 400], None, flow_id, f"d{i % 4}", now_ms)
                chunk.append((f"d{i % 4}".encode(), orjson.dumps(document)))
                self.sent[flow_id] = now_ms
                i += 1
            produce(self.settings.kafka.bootstrap_servers, self.settings.topics.flows, chunk)
            time.sleep(0.05)


__all__ = ["Feeder"]
