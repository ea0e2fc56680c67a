"""Every exception the tool raises on purpose, and the exit codes a cron wrapper acts on."""
from __future__ import annotations

import enum

from qlikcli_py.redact import redact_bytes
from qlikcli_py.redact import redact_text
from qlikcli_py.vocabulary import TRANSIENT_KINDS
from qlikcli_py.vocabulary import FailureKind


class ExitCode(enum.IntEnum):
    """One meaning per code, one action for a cron wrapper (the README's table)."""

    OK = 0  # every app done, every owner matched, verify clean
    FAILED = 1  # something failed; the ledger kept everything done so far: run again to resume
    USAGE = 2  # bad input or configuration; nothing was changed
    BUG = 3  # unexpected error; the traceback is in the log
    UNMATCHED = 4  # done, but some owners had no cloud user (their objects are listed in the report)
    MISMATCH = 5  # verify found objects whose id, type, state or owner differ from the source
    CHANGED = 6  # some source apps changed since they were migrated: re-run those with --force
    INCOMPLETE = 7  # stopped cleanly before the end (--max-imports reached): the next run continues
    FAILED_FOR_GOOD = 8  # some objects failed for good; running again will not help: fix the cause, or --retry-failed
    STOPPED_UNMATCHED = 9  # --on-unmatched fail stopped before any change, naming every unmatched owner
    LOCKED = 75  # another run holds the state dir lock (EX_TEMPFAIL): try again later
    INTERRUPTED = 130  # SIGINT/Ctrl-C: everything done so far is kept, run again to resume


class MigrationError(Exception):
    """An expected failure with one line the user can act on."""

    exit_code = ExitCode.FAILED


class UsageProblem(MigrationError):
    """Bad input found before anything was changed."""

    exit_code = ExitCode.USAGE


class LockHeld(MigrationError):
    exit_code = ExitCode.LOCKED


class QlikError(Exception):
    """A failure of one `qlik` invocation. Carries the redacted argv only."""

    def __init__(self, message: str, argv: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.argv = argv


class QlikUnusable(QlikError):
    """No usable qlik-cli: the migration cannot start (a usage problem, with the install hint)."""


class QlikNotFound(QlikUnusable):
    """The binary is missing or cannot be run."""


class QlikTooOld(QlikUnusable):
    """The binary runs but is older than the migration needs (versions.MIN_VERSION)."""


class QlikTimeout(QlikError):
    def __init__(self, argv: tuple[str, ...], timeout: float) -> None:
        super().__init__(f"qlik did not answer within {timeout:g}s: {' '.join(argv)}", argv)
        self.timeout = timeout


class QlikBadOutput(QlikError):
    def __init__(self, argv: tuple[str, ...], head: bytes, why: str) -> None:
        # What qlik printed enters the exception redacted: its text reaches the ledger, the report
        # and `status`, and nothing downstream redacts again.
        self.head = redact_bytes(head[:4096])
        shown = self.head.decode("utf-8", "replace")[:200]
        super().__init__(f"qlik printed {why}: {' '.join(argv)}: {shown!r}", argv)


class QlikCommandFailed(QlikError):
    """Non-zero exit. `kind` classifies the failure from the exit text (see failures.py)."""

    def __init__(
        self,
        argv: tuple[str, ...],
        returncode: int,
        stdout: bytes,
        stderr: bytes,
        *,
        kind: FailureKind,
        status: int | None,
        detail: str,
        retry_after: float | None = None,
    ) -> None:
        # Redacted here, where qlik's output enters an exception: nothing downstream (ledger, report,
        # `status`, logs) can show a secret qlik printed.
        detail = redact_text(detail)
        super().__init__(detail, argv)
        self.returncode = returncode
        self.stdout = redact_bytes(stdout)
        self.stderr = redact_bytes(stderr)
        self.kind = kind
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.detail}{status} [qlik {' '.join(self.argv)}]"

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS


