"""The demo's PNG: alerts per second by category over the feed, with the hot swap marked.

matplotlib comes with the offline extra; a ``.[stream]``-only install runs the demo without the
chart (:class:`ChartUnavailable` says so, and the summary names the reason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from iotad.errors import IotadError


class ChartUnavailable(IotadError):
    """The chart cannot be drawn on this install (matplotlib is missing)."""


#: One colour per alert category, the same in every run.
CATEGORY_COLOURS: dict[str, str] = {
    "DDoS": "#d62728",
    "DoS": "#ff7f0e",
    "Recon": "#1f77b4",
    "Web": "#9467bd",
    "BruteForce": "#8c564b",
    "Spoofing": "#e377c2",
    "Mirai": "#2ca02c",
    "Attack": "#7f7f7f",
}


def plot_alerts(
    path: Path,
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    swap_at_s: float | None,
    swap_label: str,
    windows: Sequence[tuple[str, float, float]] = (),
) -> Path:
    """Write a stacked-area chart of ``series`` (alerts per second per category) to ``path``.

    ``windows`` shade the scenario's attack segments ``(name, start s, end s)``.

    Raises
    ------
    ChartUnavailable
        when matplotlib is not installed (a ``.[stream]``-only install).
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ChartUnavailable(
            "no chart: matplotlib is not installed (it comes with the offline extra)",
            hint="pip install 'iotad[offline]' to draw alerts.png; the demo itself needs only "
            "'iotad[stream]'",
        ) from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 4.8), dpi=110)
    try:
        seconds = max((len(v) for v in series.values()), default=0)
        x = list(range(seconds))
        names = [c for c in CATEGORY_COLOURS if c in series] + sorted(
            c for c in series if c not in CATEGORY_COLOURS
        )
        if names:
            axes.stackplot(
                x,
                [list(series[n]) for n in names],
                labels=names,
                colors=[CATEGORY_COLOURS.get(n, "#bcbd22") for n in names],
                alpha=0.85,
                step="post",
            )
        for name, start, end in windows:
            axes.axvspan(start, end, color="#000000", alpha=0.05, lw=0)
            axes.text((start + end) / 2, 1.0, name, transform=axes.get_xaxis_transform(),
                      ha="center", va="bottom", fontsize=7, color="#555555")  # fmt: skip
        if swap_at_s is not None:
            axes.axvline(swap_at_s, color="black", ls="--", lw=1.2)
            axes.annotate(swap_label, (swap_at_s, 0.92), xycoords=("data", "axes fraction"),
                          xytext=(4, 0), textcoords="offset points", fontsize=8)  # fmt: skip
        axes.set_xlim(0, max(seconds, 1))
        axes.set_xlabel("seconds since the feed started")
        axes.set_ylabel("alerts per second")
        axes.set_title(title, fontsize=10, pad=14)
        if names:
            axes.legend(
                loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=len(names),
                frameon=False,
            )  # fmt: skip
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)
    return path


__all__ = ["ChartUnavailable", "CATEGORY_COLOURS", "plot_alerts"]
