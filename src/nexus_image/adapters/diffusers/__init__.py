"""The diffusers image generator (imports torch lazily: the rest of the package stays light)."""

import os

# transformers warns about optional vision packages this adapter never uses.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from nexus_image.adapters.diffusers.generator import DiffusersGenerator, GeneratorOptions

__all__ = ["DiffusersGenerator", "GeneratorOptions"]
