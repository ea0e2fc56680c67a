"""How big one qlik call may be, and how long the longest may take: shared by the wrappers that
make the calls and by `plan`, which predicts them."""
from __future__ import annotations

EXPORT_TIMEOUT = 3600.0  # a multi-GB QVF takes a while; one timeout for export and import
USER_IDS_PER_CALL = 40  # keeps a QRS "id eq A or id eq B ..." filter well inside URL limits
RM_IDS_PER_CALL = 100  # ids per `app object rm` argv
