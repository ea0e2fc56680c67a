"""The write half of a migration, per app: export, import, copy, reassign, move, clean.

`orchestration.py` (`Migration`) runs the steps in order; `creating.py` (`Creating`: export,
import, copy, the import quota), `handover.py` (`Handover`: change-owner, move) and `cleanup.py`
(`Cleanup`: the development copy) hold the steps; `settling.py` (`Settling`) settles ambiguous
outcomes from the tenant's truth. Each step is an object given what it needs (session, ledger,
options, progress, the `Settling` it shares); `Migration` composes them, so a command that needs
only the hand-over and settling builds only those.
"""
from __future__ import annotations

from qlikcli_py.migration.orchestration import AppOutcome
from qlikcli_py.migration.orchestration import Migration

__all__ = ["AppOutcome", "Migration"]
