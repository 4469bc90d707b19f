"""Domain errors: every broken business rule has a name."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every business-rule violation."""

    code = "domain_error"


class InvalidValue(DomainError):
    """A value is outside what the domain allows; names the field and the allowed values."""

    code = "invalid_value"

    def __init__(self, field: str, message: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = allowed


class UnknownStyle(InvalidValue):
    code = "unknown_style"


class UnsupportedResolution(InvalidValue):
    code = "unsupported_resolution"


class UnknownScheduler(InvalidValue):
    code = "unknown_scheduler"


class UnknownLora(InvalidValue):
    """A LoRA adapter that is not in the operator's list (the list is in `allowed`)."""

    code = "unknown_lora"


class UnknownWildcard(InvalidValue):
    """A `__name__` wildcard the operator has no file for (some names that exist are in `allowed`)."""

    code = "unknown_wildcard"


class InvalidTemplate(InvalidValue):
    """A dynamic prompt that cannot be expanded: unbalanced braces, a count above its options,
    nesting or wildcards too deep, an expansion longer than a prompt may be."""

    code = "invalid_template"


class UnknownModel(InvalidValue):
    """A model that is not offered here (the names offered are in `allowed`)."""

    code = "unknown_model"


class UnknownUpscaler(InvalidValue):
    """An upscaler that is not offered here (the names offered are in `allowed`)."""

    code = "unknown_upscaler"


class UnknownFastMode(InvalidValue):
    """A fast mode the operator does not offer (the names offered are in `allowed`)."""

    code = "unknown_fast_mode"


class InvalidImage(InvalidValue):
    """An uploaded file is not an image we take (format, damage, size)."""

    code = "invalid_image"


class IllegalTransition(DomainError):
    """A job was asked to move to a state it cannot reach from where it is."""

    code = "illegal_transition"

    def __init__(self, job_id: str, current: str, target: str) -> None:
        super().__init__(f"job {job_id} cannot go from {current} to {target}")
        self.job_id = job_id
        self.current = current
        self.target = target


class InsufficientTokens(DomainError):
    code = "insufficient_tokens"

    def __init__(self, required: int, balance: int) -> None:
        super().__init__(f"{required} tokens required, balance is {balance}")
        self.required = required
        self.balance = balance


class InvalidAmount(DomainError):
    code = "invalid_amount"

    def __init__(self, amount: int) -> None:
        super().__init__(f"token amounts must be positive integers, got {amount}")
        self.amount = amount


class AccessDenied(DomainError):
    """The caller does not own the resource (and it is not public where that would be enough)."""

    code = "access_denied"


class ImageNotInAlbum(DomainError):
    code = "image_not_in_album"


class UnsafeImage(DomainError):
    """The output check flagged the image: it cannot be made public."""

    code = "unsafe_image"

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"image {job_id} was flagged by the output check and cannot be public ({reason})")
        self.job_id = job_id
        self.reason = reason


class AccountSuspended(DomainError):
    """An operator suspended the user: they may do nothing until reinstated."""

    code = "account_suspended"

    def __init__(self, user_id: str) -> None:
        super().__init__("this account is suspended; contact the operators of this service")
        self.user_id = user_id


class ImageDataRemoved(DomainError):
    """Retention removed the image's files (`removed_at`); its record stays, without them."""

    code = "image_data_removed"

    def __init__(self, job_id: str, removed_at: str) -> None:
        super().__init__(f"image {job_id}: its files were removed on {removed_at} (retention)")
        self.job_id = job_id
        self.removed_at = removed_at
