"""eval/'s scripts as modules: they are run as scripts (standard library only), not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


def load(name: str) -> ModuleType:
    """eval/<name>.py, imported under its script name (split.py imports `score` as a sibling)."""
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(EVAL_DIR / f"{name}.py"):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EVAL_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
