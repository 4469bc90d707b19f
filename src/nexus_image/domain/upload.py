"""An uploaded picture: the starting image or the mask of an image-to-image or inpainting job,
private to the user who sent it, counted against their upload allowance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.domain.errors import DomainError


class UploadQuotaExceeded(DomainError):
    """The user's uploads already fill their allowance (count or bytes)."""

    code = "upload_quota_exceeded"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = "file"


@dataclass(frozen=True, slots=True)
class UploadAllowance:
    """How much each user may keep uploaded at once."""

    max_count: int = 100
    max_bytes: int = 200 * 1024 * 1024

    def require_room(self, count: int, used_bytes: int, size: int) -> None:
        """Refuse one more upload of `size` bytes beside `count` uploads of `used_bytes`."""
        if count + 1 > self.max_count:
            raise UploadQuotaExceeded(
                f"you have {count} uploads, the most kept at once is {self.max_count}: delete some first"
            )
        if used_bytes + size > self.max_bytes:
            raise UploadQuotaExceeded(
                f"this upload of {size} bytes would bring your uploads to {used_bytes + size} bytes, "
                f"over the {self.max_bytes} allowed: delete some first"
            )


@dataclass(frozen=True, slots=True)
class Upload:
    """A stored picture (always kept as PNG) and where it came from."""

    id: str
    user_id: str
    width: int
    height: int
    size: int  # bytes stored
    source_format: str  # png, jpeg, webp: what the user sent
    created_at: datetime

    content_type = "image/png"

    def visible_to(self, user_id: str) -> bool:
        return self.user_id == user_id
