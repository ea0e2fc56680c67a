"""What the steps of the write engine share: how to read an app's record, and which failures are
certain not to have been applied. Each step is an object given what it needs (session, ledger,
options, progress); `Migration` composes them."""
from __future__ import annotations

from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.vocabulary import DEFINITE_KINDS


def app_record(ledger: Ledger, app_id: str) -> AppRecord:
    """The app's record as the ledger holds it now (begun before any step runs)."""
    rec = ledger.app(app_id)
    assert rec is not None
    return rec


def definite(exc: Exception) -> bool:
    """True when the failure means the call was certainly not applied."""
    return isinstance(exc, QlikCommandFailed) and exc.kind in DEFINITE_KINDS
