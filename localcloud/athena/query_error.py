"""The error a failed query reports, in a module of its own so that the Athena service can name it
without importing the SQL engine (sqlglot), which the server imports only after it has started."""

from __future__ import annotations


class QueryError(Exception):
    """A query failed, as Athena reports it: StateChangeReason is `reason`, AthenaError has the rest."""

    def __init__(self, error_name: str, message: str, *, category: int = 2, error_type: int = 1006,
                 retryable: bool = False):
        self.error_name = error_name
        self.message = message
        self.category = category
        self.error_type = error_type
        self.retryable = retryable
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return f"{self.error_name}: {self.message}"
