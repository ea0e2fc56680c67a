"""The write half of a migration, per app: export, import, copy, reassign, move, clean.

`orchestration.py` runs the steps in order; `creating.py` (export, import, copy, the import
quota), `handover.py` (change-owner, move) and `cleanup.py` (the development copy) hold the
steps; `settling.py` settles ambiguous outcomes from the tenant's truth. The steps are mixins over
one `StepContext` (context.py), so each reads the same session, ledger and options.
"""
from __future__ import annotations

from qlikcli_py.migration.orchestration import AppOutcome
from qlikcli_py.migration.orchestration import Migration

__all__ = ["AppOutcome", "Migration"]
