"""DaskExecutor: ordered results and progress on every local scheduler."""

import math

import pytest
from rich.progress import TaskID

from iotad.offline.scheduler import DaskExecutor, LocalScheduler


class CountingProgress:
    def __init__(self) -> None:
        self.totals: dict[str, float | None] = {}
        self.done = 0.0

    def add_task(self, description: str, total: float | None = None) -> TaskID:
        self.totals[description] = total
        return TaskID(len(self.totals))

    def advance(self, task: TaskID, amount: float = 1.0) -> None:
        self.done += amount

    def update(
        self, task: TaskID, *, description: str | None = None, total: float | None = None
    ) -> None:
        return None


@pytest.mark.parametrize("local", ["threads", "processes"])
def test_map_keeps_order_and_reports_progress(local: LocalScheduler) -> None:
    progress = CountingProgress()
    with DaskExecutor(local=local, workers=2) as executor:
        result = executor.map(math.factorial, [5, 3, 4, 0], progress=progress, description="f")
        assert executor.map(math.factorial, []) == []
    assert result == [120, 6, 24, 1]
    assert progress.totals == {"f": 4} and progress.done == 4


def test_dask_collections_use_the_chosen_scheduler() -> None:
    import dask

    before = dask.config.get("scheduler", None)
    with DaskExecutor(local="processes", workers=1) as executor:
        assert dask.config.get("scheduler") == "processes"
        assert "processes" in executor.description
    assert dask.config.get("scheduler", None) == before


def test_an_existing_cluster_is_used_and_left_running() -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        progress = CountingProgress()
        with DaskExecutor(address=cluster.scheduler_address) as executor:
            assert executor.map(math.factorial, [4, 5], progress=progress) == [24, 120]
            assert cluster.scheduler_address in executor.description
        assert progress.done == 2
        assert len(cluster.scheduler_info["workers"]) == 1, "the cluster still runs"
