"""Installed Stable Diffusion models: the on-disk store, and pulls from the Hugging Face hub."""

from nexus_image.adapters.models.errors import (
    ChecksumMismatch,
    HubNotFound,
    HubUnavailable,
    InvalidModel,
    ModelError,
    ModelExists,
    ModelNotInstalled,
    NotEnoughDisk,
    human_size,
)
from nexus_image.adapters.models.hub import HubClient, RepoFile, RepoInfo
from nexus_image.adapters.models.install import pull
from nexus_image.adapters.models.progress import NoProgress, Progress
from nexus_image.adapters.models.selection import Selection, select_files
from nexus_image.adapters.models.status import DownloadStatus
from nexus_image.adapters.models.store import MODEL_NAME, InstalledModel, ModelStore, model_name

__all__ = [
    "MODEL_NAME",
    "ChecksumMismatch",
    "DownloadStatus",
    "HubClient",
    "HubNotFound",
    "HubUnavailable",
    "InstalledModel",
    "InvalidModel",
    "ModelError",
    "ModelExists",
    "ModelNotInstalled",
    "ModelStore",
    "NoProgress",
    "NotEnoughDisk",
    "Progress",
    "RepoFile",
    "RepoInfo",
    "Selection",
    "human_size",
    "model_name",
    "pull",
    "select_files",
]
