"""The words the tool compares: failure kinds, call tiers, steps and statuses, each defined once.

They are `StrEnum`s, so the ledger, the reports and the logs store and print plain strings, while
the code compares members: a typo is an AttributeError at import, not a branch never taken.
"""
from __future__ import annotations

import enum


class FailureKind(enum.StrEnum):
    """What a failed `qlik` call was, read from what it printed (failures.py)."""

    BAD_REQUEST = "bad_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403, or engine 5 GENERIC ACCESS DENIED
    NOT_FOUND = "not_found"  # 404, or engine 9003 / 2
    CONFLICT = "conflict"  # 409
    RATE_LIMITED = "rate_limited"  # 429
    SERVER = "server"  # 5xx
    CLIENT = "client"  # another 4xx
    USAGE = "usage"  # unknown flag, wrong argument count
    CONTEXT = "context"  # no such context, no server URL
    UNSUPPORTED = "unsupported"  # this qlik-cli lacks the command (it printed help and exit 0)
    DISK_FULL = "disk_full"
    ENGINE_CONNECT = "engine_connect"
    ENGINE_LIMIT = "engine_limit"
    NETWORK = "network"
    CERTIFICATE = "certificate"
    OTHER = "other"


# Worth the same call again: the failure says nothing about the request itself.
TRANSIENT_KINDS = frozenset({FailureKind.RATE_LIMITED, FailureKind.SERVER, FailureKind.ENGINE_CONNECT,
                             FailureKind.NETWORK})
# A clear refusal: the call was not applied, and sending it again as it is will not help.
DEFINITE_KINDS = frozenset({FailureKind.BAD_REQUEST, FailureKind.UNAUTHORIZED, FailureKind.FORBIDDEN,
                            FailureKind.NOT_FOUND, FailureKind.CONFLICT, FailureKind.USAGE, FailureKind.CONTEXT,
                            FailureKind.CLIENT, FailureKind.DISK_FULL, FailureKind.CERTIFICATE,
                            FailureKind.UNSUPPORTED})


class Tier(enum.StrEnum):
    """Which limit a call counts against: Qlik Cloud's rate tiers, plus calls that Qlik Cloud's
    REST limits do not cover (QRS on the site, engine websocket, local `context`/`version`)."""

    READ = "read"  # Tier 1
    WRITE = "write"  # Tier 2
    QRS = "qrs"
    ENGINE = "engine"
    LOCAL = "local"


class Step(enum.StrEnum):
    """The steps of one app's migration, in order; the ledger records the last one finished."""

    EXPORT = "export"
    IMPORT = "import"
    SCRIPT = "script"  # the imported app's load script read, renamed (--connection-map), checked
    COPY = "copy"
    REASSIGN = "reassign"
    MOVE = "move"
    CLEAN = "clean"
    DONE = "done"


STEPS = tuple(Step)


class AppStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CHANGED = "changed"  # the source changed since it was migrated: reported, not re-imported
    DEFERRED = "deferred"  # not started: --max-imports reached
    INTERRUPTED = "interrupted"  # shown by `status` for a run that no longer holds the lock


class ObjectStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"  # change-owner sent, outcome unknown: settled from the truth before any resend
    DONE = "done"
    UNMATCHED = "unmatched"  # its owner has no cloud user: stays with the migration identity
    FAILED = "failed"  # failed in this run; the next run tries again
    FAILED_FOR_GOOD = "failed-for-good"  # a definitive refusal (not in the app, 400): not tried again
    KEPT = "kept"  # base content: stays with the app owner
    TO_REASSIGN = "to-reassign"  # `plan --csv` only: headed for a change-owner


class CleanupStatus(enum.StrEnum):
    PENDING = "pending"
    UNPUBLISHED = "unpublished"
    REMOVED = "removed"


class CheckStatus(enum.StrEnum):
    """What `verify` found for one object."""

    OK = "ok"
    # private, not listed by this identity, handed over to its expected owner per the ledger: an
    # admin.apps identity confirms the owner
    HANDED_OVER_HIDDEN = "handed-over-hidden"
    NOT_CHECKED = "not-checked"  # app structure: not an engine object in Qlik Cloud
    EXTRA = "extra"  # in the cloud app, not in the source app
    MISSING = "missing"
    WRONG_TYPE = "wrong-type"
    WRONG_STATE = "wrong-state"
    WRONG_OWNER = "wrong-owner"
    UNREADABLE = "unreadable"
    IN_COPY = "in-copy"  # users' content still in the development copy
    MISSING_IN_COPY = "missing-in-copy"  # a base object missing from the development copy
    # What `sync`'s waves explain (the ledger's wave_objects), none of them a mismatch:
    NOT_SYNCED = "not-synced"  # new on-prem, reported by a wave as not brought over (bookmark, base content...)
    CHANGED_ON_PREM = "changed-on-prem"  # changed on-prem since its migration: matches it as it was migrated
    DELETED_ON_PREM = "deleted-on-prem"  # migrated, since deleted on-prem; the cloud copy is left as it is


# Statuses that are not a mismatch.
CHECK_OK = frozenset({CheckStatus.OK, CheckStatus.HANDED_OVER_HIDDEN, CheckStatus.NOT_CHECKED, CheckStatus.EXTRA,
                      CheckStatus.NOT_SYNCED, CheckStatus.CHANGED_ON_PREM, CheckStatus.DELETED_ON_PREM})
# The statuses the waves explain, listed by the terminal summary after the mismatches.
CHECK_WAVES = frozenset({CheckStatus.NOT_SYNCED, CheckStatus.CHANGED_ON_PREM, CheckStatus.DELETED_ON_PREM})


class PreflightStatus(enum.StrEnum):
    """One check of `doctor` (and of `run`'s preflight)."""

    PASS = "pass"
    FAIL = "fail"
    INFO = "info"


class ReportStatus(enum.StrEnum):
    """A report's overall verdict, from its exit code."""

    SUCCESS = "success"
    PARTIAL = "partial"  # finished, with something for a person to act on (unmatched, changed, deferred)
    ERROR = "error"


class ServerType(enum.StrEnum):
    """What a qlik-cli context points at (`--server-type` of `qlik context create`)."""

    WINDOWS = "windows"  # client-managed: QRS through a virtual proxy
    CLOUD = "cloud"


class SpaceType(enum.StrEnum):
    SHARED = "shared"  # the import and the development copy
    MANAGED = "managed"  # where the migrated app is moved
    DATA = "data"


class Place(enum.StrEnum):
    """Where verify found an object: the migrated app (managed space) or the development copy."""

    MANAGED = "managed"
    COPY = "copy"
