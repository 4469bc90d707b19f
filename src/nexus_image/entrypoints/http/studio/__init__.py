"""The studio: the web page served at `/`, its assets, and what it asks the server first."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ASSETS = Path(str(files(__name__).joinpath("assets")))
