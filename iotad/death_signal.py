"""Child processes that die with their parent (Linux: ``setpriv --pdeathsig TERM``)."""

from __future__ import annotations

import logging
import shutil

logger = logging.getLogger(__name__)


def death_signal_prefix(child: str) -> list[str]:
    """The command prefix that sends ``child`` SIGTERM when this process dies ([] without
    setpriv, with a warning that ``child`` would outlive this process)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        logger.warning("setpriv not found: the %s outlives this process if it is killed", child)
        return []
    return [setpriv, "--pdeathsig", "TERM", "--"]


__all__ = ["death_signal_prefix"]
