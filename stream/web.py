"""The worker's HTTP endpoints, on Faust's web server (``stream.web_host:stream.web_port``).

* ``/healthz``: 200 while the process runs (liveness).
* ``/readyz``: 200 when a model is loaded, model control is followed and flows-topic partitions
  are assigned; 503 otherwise, with the reason (readiness).
* ``/metrics``: Prometheus text format (:mod:`iotad.stream.metrics`).
"""

from __future__ import annotations

from typing import Any

from iotad.stream.runtime import WorkerRuntime

#: Prometheus text exposition format (aiohttp sets the charset itself).
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def assigned_partitions(app: Any, topic: str) -> list[int]:
    """Partitions of ``topic`` assigned to this worker right now."""
    return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == topic)


def readiness(app: Any, runtime: WorkerRuntime) -> dict[str, Any]:
    """What ``/readyz`` reports: each condition and the verdict."""
    partitions = assigned_partitions(app, runtime.topics.flows)
    model = runtime.slot.current
    checks = {
        "model_loaded": True,
        "control_followed": runtime.control_ready,
        "partitions_assigned": bool(partitions) and not app.rebalancing,
    }
    return {
        "ready": all(checks.values()),
        "checks": checks,
        "model": model.serving.model.model_dump(),
        "bundle": str(model.path),
        "signed_by": model.signed_by,
        "partitions": partitions,
        "worker_id": runtime.worker_id,
    }


def register_web(app: Any, runtime: WorkerRuntime) -> None:
    """Add ``/healthz``, ``/readyz`` and ``/metrics`` to ``app``."""

    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "worker_id": runtime.worker_id})

    async def readyz(web: Any, request: Any) -> Any:
        report = readiness(app, runtime)
        return web.json(report, status=200 if report["ready"] else 503)

    async def metrics(web: Any, request: Any) -> Any:
        runtime.metrics.partitions.set(len(assigned_partitions(app, runtime.topics.flows)))
        return web.bytes(runtime.metrics.exposition(), content_type=PROMETHEUS_TEXT)

    app.page("/healthz")(healthz)
    app.page("/readyz")(readyz)
    app.page("/metrics")(metrics)


__all__ = ["assigned_partitions", "readiness", "register_web"]
