"""Reading the generation parameters back out of an image file (ours, or AUTOMATIC1111's), as a
generate request takes them."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.errors import PayloadTooLarge
from nexus_image.application.ports import ImageTextReader
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.png_parameters import FoundParameters, read_parameters


@dataclass(slots=True)
class ReadParameters:
    reader: ImageTextReader

    def execute(self, data: bytes) -> FoundParameters:
        """The parameters in the PNG `data`: PayloadTooLarge over 10 MB; 422 on `file` when it
        is not a PNG or carries no parameters we can read. Nothing is stored."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge("file", f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        try:
            chunks = self.reader.text_chunks(data)
        except ValueError as error:
            raise InvalidValue("file", str(error)) from None
        found = read_parameters(chunks)
        if found is None:
            raise InvalidValue("file", "the PNG carries no generation parameters (no `parameters` text)")
        return found
