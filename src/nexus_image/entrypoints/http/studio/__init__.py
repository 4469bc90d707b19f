"""The studio: the web page served at `/`, its assets, and what it asks the server first."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ROOT = Path(str(files(__name__)))
PAGE = ROOT / "index.html"  # served at `/` only, with its Content-Security-Policy
ASSETS = ROOT / "assets"  # scripts and styles, under /studio/assets/
