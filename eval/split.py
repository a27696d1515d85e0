"""Split each evaluation set into a dev half and a test half, the same way every time.

    python -m eval.split            # writes eval/<folder>/<set>.dev.jsonl and <set>.test.jsonl
    python -m eval.split --check    # exits 1 when the committed halves differ from what it would write

Lines are grouped into strata (per set, below: the merchant sets by language, intent family and
ambiguous or not; the spoken commands by intent and how the product is named; the non-commands
by kind and language or sound); each group is shuffled with a random.Random seeded by SEED, the
set's name and the group's name, and its first half (rounded by a coin from the same generator
when the group is odd) goes to test, the rest to dev. Each half keeps the set's lines byte for
byte, in the set's order. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from eval.score import family_of

SEED = 20261215
EVAL_DIR = Path(__file__).resolve().parent
SPOKEN_NAMING_TAGS = ("ambiguous", "sku", "name")


def stratum(line: str) -> str:
    """A merchant line's group: language, intent family, ambiguous or not."""
    case = json.loads(line)
    expect = case["expect"]
    return f"{case['lang']}/{family_of(expect['intent'])}/{'candidates' in expect}"


def spoken_command_stratum(line: str) -> str:
    """A spoken command's group: its intent and how it names the product (sku, name, ambiguous, none)."""
    case = json.loads(line)
    naming = next((tag for tag in SPOKEN_NAMING_TAGS if tag in case["tags"]), "none")
    return f"{case['expect']['intent']}/{naming}"


def spoken_non_command_stratum(line: str) -> str:
    """A non-command clip's group: its kind and its language or sound."""
    case = json.loads(line)
    spec = case.get("spec")
    detail = spec.get("sound") if isinstance(spec, dict) else case.get("language", "en")
    return f"{case['kind']}/{detail}"


Stratum = Callable[[str], str]
SETS: dict[str, Stratum] = {
    "merchant/commands": stratum,
    "merchant/naming": stratum,
    "merchant/commands2": stratum,
    "merchant/naming2": stratum,
    "merchant/commands3": stratum,
    "merchant/naming3": stratum,
    "merchant/commands4": stratum,
    "merchant/naming4": stratum,
    "merchant/commands5": stratum,
    "merchant/naming5": stratum,
    "spoken/commands": spoken_command_stratum,
    "spoken/non_commands": spoken_non_command_stratum,
}


def split(set_name: str, lines: list[str]) -> tuple[list[str], list[str]]:
    """(dev, test): the set's lines, each in exactly one half, in the set's order."""
    stratum_of = SETS[set_name]
    groups: dict[str, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        groups[stratum_of(line)].append(index)
    test: set[int] = set()
    for key in sorted(groups):
        members = groups[key]
        rng = random.Random(f"{SEED}/{set_name}/{key}")
        rng.shuffle(members)
        take = len(members) // 2 + (len(members) % 2 if rng.random() < 0.5 else 0)
        test.update(members[:take])
    dev = [line for i, line in enumerate(lines) if i not in test]
    return dev, [lines[i] for i in sorted(test)]


def halves(set_name: str) -> dict[Path, str]:
    """The contents each half's file should have."""
    base = EVAL_DIR / set_name
    lines = base.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    dev, test = split(set_name, [line if line.endswith("\n") else line + "\n" for line in lines if line.strip()])
    return {base.with_suffix(".dev.jsonl"): "".join(dev), base.with_suffix(".test.jsonl"): "".join(test)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed halves, write nothing")
    args = parser.parse_args()
    stale = []
    for set_name in SETS:
        for path, text in halves(set_name).items():
            if args.check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(path)
            else:
                path.write_text(text, encoding="utf-8")
                print(f"{path.relative_to(EVAL_DIR.parent)}: {text.count(chr(10))} lines")
    for path in stale:
        print(f"split: {path} differs from `python -m eval.split`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
