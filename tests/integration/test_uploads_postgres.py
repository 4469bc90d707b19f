"""Uploads on PostgreSQL: uploads racing for a user's last room in the allowance are kept or
refused whole (the row and the object together), each user's uploads are theirs alone, and a
generate request naming a starting image checks it in the request's own transaction."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy.tables import uploads
from nexus_image.application.dto import GenerateImage
from nexus_image.application.errors import MissingUpload
from nexus_image.domain.upload import UploadQuotaExceeded
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings

pytestmark = pytest.mark.integration


def picture(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def test_racing_uploads_fill_the_allowance_exactly_and_keep_no_orphan(
    clean_postgres: Engine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr("s" * 48), max_uploads_per_user=3
    )
    app = compose("cli", settings)
    try:
        service = app.service
        outcomes: list[Any] = []
        start = threading.Barrier(8)

        def send(n: int) -> None:
            start.wait(30)
            try:
                outcomes.append(service.uploads.upload("ann", picture(n)).id)
            except UploadQuotaExceeded as error:
                outcomes.append(error)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        kept = [o for o in outcomes if isinstance(o, str)]
        assert len(outcomes) == 8 and len(kept) == 3
        with clean_postgres.connect() as connection:
            rows = connection.execute(sa.select(uploads.c.id).where(uploads.c.user_id == "ann")).scalars()
            assert sorted(rows) == sorted(kept)
        stored = sorted(path.stem for path in (tmp_path / "files").rglob("uploads/*/*.png"))
        assert stored == sorted(kept)  # the refused ones' objects were removed again
        assert service.uploads.list("ann").count == 3 and service.uploads.list("bob").count == 0
        with pytest.raises(MissingUpload):
            service.request_generation(GenerateImage(user_id="bob", prompt="a fox", init_image_id=kept[0]))
        service.tokens.grant("ann", 5)
        view = service.request_generation(GenerateImage(user_id="ann", prompt="a fox", init_image_id=kept[0]))
        assert view.parameters.init_image_id == kept[0] and view.parameters.strength == 0.75
    finally:
        app.close()
