"""How big one qlik call may be: shared by the wrappers that make the calls and by `plan`, which
predicts them. (How long a call may take is qlik.py's: DEFAULT_CALL_TIMEOUT, TRANSFER_TIMEOUT.)"""
from __future__ import annotations

USER_IDS_PER_CALL = 40  # keeps a QRS "id eq A or id eq B ..." filter well inside URL limits
RM_IDS_PER_CALL = 100  # ids per `app object rm` argv
