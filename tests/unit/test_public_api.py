"""The README's library example, as written."""

from __future__ import annotations

from nexus_image import GenerateImage, in_memory_service


def test_readme_library_example() -> None:
    service = in_memory_service(welcome_grant=100)
    job = service.request_generation(GenerateImage(user_id="u1", prompt="a red fox", resolution="768x768"))
    service.process(job.id)
    assert service.get_image("u1", job.id).status == "COMPLETED"
    assert service.tokens.balance("u1").balance == 90
