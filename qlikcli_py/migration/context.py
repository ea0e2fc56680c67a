"""What every step of the write engine shares: the session, the ledger, the run's options."""
from __future__ import annotations

import asyncio

from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.vocabulary import DEFINITE_KINDS


class StepContext:
    def __init__(self, session: Session, ledger: Ledger, opts: RunOptions, progress: Progress) -> None:
        self.s = session
        self.ledger = ledger
        self.opts = opts
        self.progress = progress
        self._quota_lock = asyncio.Lock()
        self._creation_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._stop_imports = False

    def _record(self, app_id: str) -> AppRecord:
        rec = self.ledger.app(app_id)
        assert rec is not None
        return rec


def definite(exc: Exception) -> bool:
    """True when the failure means the call was certainly not applied."""
    return isinstance(exc, QlikCommandFailed) and exc.kind in DEFINITE_KINDS
