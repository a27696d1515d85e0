"""The committed stubs match proto/: regenerate into a temp dir and compare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stubs(root: Path) -> list[Path]:
    """The generated .py and .pyi files under root/shopvoice (not the bytecode Python caches beside them)."""
    return sorted(p.relative_to(root) for p in (root / "shopvoice").rglob("*_pb2*.py*") if p.suffix in (".py", ".pyi"))


def test_generated_stubs_are_fresh(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), str(tmp_path)], check=True, capture_output=True
    )
    generated = stubs(tmp_path)
    committed = stubs(ROOT)
    assert generated, "protoc generated nothing"
    assert generated == committed, "stub files differ from proto/: run `make proto`"
    stale = [str(p) for p in generated if (tmp_path / p).read_bytes() != (ROOT / p).read_bytes()]
    assert not stale, f"stale stubs, run `make proto`: {stale}"
