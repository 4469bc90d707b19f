"""POST /api/v1/prompts/tokens: the styled prompts' CLIP tokens, chunk by chunk, with no model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from nexus_image.domain.styles import PRESETS, Style
from tests.api.conftest import Api
from tests.api.test_problems import problem


def count(api: Api, user: str | None = "alice", **body: Any) -> dict[str, Any]:
    response = api.request("POST", "/prompts/tokens", user, json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def tokens(api: Api, prompt: str, style: str = "anime") -> int:
    found: int = count(api, prompt=prompt, style=style)["prompt"]["tokens"]
    return found


def test_the_styled_prompts_are_counted_in_chunks_of_75(api: Api) -> None:
    found = count(api, prompt="a red fox", negative_prompt="snow", style="sketch")
    assert set(found) == {"prompt", "negative_prompt"}
    for counted in found.values():
        assert counted["chunks"] == [counted["tokens"]] and 0 < counted["tokens"] <= 75
    # The user's words inside the style: CLIP reads "a", "red", "fox" and ", masterpiece" as 5 tokens.
    assert tokens(api, "a red fox") - tokens(api, "") == 3
    assert tokens(api, "a red fox, masterpiece") - tokens(api, "") == 5
    # The style's own negative prompt follows the user's (", snow" is two tokens more).
    plain = count(api, prompt="x", style="sketch")["negative_prompt"]["tokens"]
    assert found["negative_prompt"]["tokens"] == plain + 2


def test_weights_add_no_tokens_and_break_and_length_make_chunks(api: Api) -> None:
    assert tokens(api, "a ((red:1.3) fox) [in the snow]") == tokens(api, "a red fox in the snow")
    before = tokens(api, "a red fox")
    broken = count(api, prompt="a red fox BREAK in the snow", style="anime")["prompt"]["chunks"]
    assert len(broken) == 2 and sum(broken) == before + 3  # "in the snow" after the break
    long = count(api, prompt="a red fox, " * 40, style="3d")["prompt"]
    assert len(long["chunks"]) == 3 and long["tokens"] == sum(long["chunks"]) > 150
    assert all(n <= 75 for n in long["chunks"]) and long["chunks"][0] >= 55  # cut at a comma near 75


def test_the_style_is_the_default_one_when_absent(api: Api) -> None:
    default = count(api, prompt="a red fox")
    assert default == count(api, prompt="a red fox", style=Style.REALISTIC.value)
    assert default != count(api, prompt="a red fox", style="sketch")
    assert PRESETS[Style.REALISTIC].negative_prompt  # so the default's negative count is not zero
    assert default["negative_prompt"]["tokens"] > 0


def test_bad_input_is_a_400_problem_and_a_caller_is_needed(api: Api) -> None:
    def sent(body: Any) -> Any:
        return api.request("POST", "/prompts/tokens", json=body)

    assert problem(sent({}), 400)["code"] == "invalid_request"
    assert problem(sent({"prompt": 5}), 400)["field"] == "prompt"
    assert problem(sent({"prompt": "x" * 1001}), 400)["field"] == "prompt"
    unknown = problem(sent({"prompt": "a fox", "style": "watercolour"}), 400)
    assert unknown["field"] == "style" and "anime" in unknown["allowed"]
    assert problem(sent({"prompt": "a fox", "seed": 3}), 400)["code"] == "invalid_request"
    anonymous = api.request("POST", "/prompts/tokens", None, json={"prompt": "a fox"})
    assert anonymous.status_code == 401


def test_the_api_process_counts_without_torch_or_a_model() -> None:
    script = textwrap.dedent(
        """
        import json, sys
        from litestar.testing import TestClient
        from pydantic import SecretStr
        from nexus_image.entrypoints.composition import compose, http_app
        from nexus_image.entrypoints.settings import Settings
        from tests.api.conftest import bearer, SECRET
        import tempfile, pathlib
        folder = pathlib.Path(tempfile.mkdtemp())
        settings = Settings(data_dir=folder, jwt_secret=SecretStr(SECRET), embedded_worker=False)
        with TestClient(http_app(compose("api", settings))) as client:
            answer = client.post("/api/v1/prompts/tokens", json={"prompt": "a (red:1.2) fox"},
                                 headers=bearer())
        print(json.dumps([answer.status_code, "torch" in sys.modules, "diffusers" in sys.modules]))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [200, False, False]
