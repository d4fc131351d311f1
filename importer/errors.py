"""Errors, named by what the caller must do.  One root, three kinds::

    ImporterError                 root; never raised itself
    ├── InputError      (fatal)   exit 2: nothing was sent; fix the input, config or usage
    ├── StopRun         (fatal)   exit 3: stopped early (token, scope, daily limit, interrupt);
    │                             running the same command again resumes
    ├── Declined        (fatal)   exit 3: the person said no before sending; nothing was sent
    ├── RetryableError  (retry)   a transient answer (429, 5xx, network); the retry policy decides
    ├── BatchRejected   (skip)    HubSpot refused this one request for good; its rows fail,
    │                             the run goes on
    └── ReportWriteError          exit 1: the run is done, only the report file is missing

Bad *rows* are not exceptions: they are lines of the rows table with an outcome and a reason code.
Every message is a sentence a marketer can act on and never contains the access token.
"""

from __future__ import annotations

import errno


class ImporterError(Exception):
    """Root of every error the importer raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputError(ImporterError):
    """The input, configuration or usage is wrong; nothing was sent (exit 2)."""

    exit_code = 2


class StopRun(ImporterError):
    """The run must stop now; what was done is kept and a re-run resumes (exit 3).

    ``reason`` is the reason code given to rows that could not be sent because of the stop.
    """

    exit_code = 3

    def __init__(self, message: str, *, reason: str, hint: str = "", correlation_id: str = "") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.correlation_id = correlation_id


class Declined(ImporterError):
    """The person answered no when asked before sending: nothing was sent; asking again is safe (exit 3)."""

    exit_code = 3


class NothingToImport(ImporterError):
    """A scheduled run found no input (an empty inbox) and was told that is fine (exit 0)."""

    exit_code = 0


class RetryableError(ImporterError):
    """A transient failure: the retry policy may try again after ``wait_s`` (if known)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int = 0,
        wait_s: float | None = None,
        correlation_id: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.wait_s = wait_s
        self.correlation_id = correlation_id


class BatchRejected(ImporterError):
    """HubSpot refused the request for good (a 4xx other than auth/limits); skip it and go on.

    ``names_culprits`` is False when the answer does not say which inputs were bad, so the
    sender may split the batch to isolate them.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int,
        correlation_id: str = "",
        names_culprits: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.correlation_id = correlation_id
        self.names_culprits = names_culprits


class ReportWriteError(ImporterError):
    """The report could not be written; the run itself is done, only the file is missing."""

    exit_code = 1


#: ``errno`` values meaning the disk (or the user's quota) is full.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def disk_full(what: str, detail: str) -> StopRun:
    """The stop a full disk becomes: nothing is lost (every answer so far is committed or will be
    asked again), so freeing space and running the same command again resumes (exit 3)."""
    return StopRun(
        f"The disk is full: {what} could not be written ({detail}); free some space and run the same "
        "command again, which resumes.",
        reason="disk_full",  # models.Reason.DISK_FULL: errors sit below the vocabulary
    )
