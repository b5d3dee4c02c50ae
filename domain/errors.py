from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a stable code that clients can act on (e.g. ``outside_service_area``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # True when the failure itself must be recorded (revoking a stolen refresh-token family).
        self.keep_changes = keep_changes
