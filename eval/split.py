"""Split each evaluation set into a dev half and a test half, the same way every time.

    python eval/split.py            # writes eval/merchant/<set>.dev.jsonl and <set>.test.jsonl
    python eval/split.py --check    # exits 1 when the committed halves differ from what it would write

Lines are grouped by (language, intent family, ambiguous or not); each group is shuffled with a
random.Random seeded by SEED and the group's name, and its first half (rounded by a coin from the
same generator when the group is odd) goes to test, the rest to dev. Each half keeps the set's
lines byte for byte, in the set's order. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from score import family_of

SEED = 20261215
SETS_DIR = Path(__file__).resolve().parent / "merchant"
SETS = ("commands", "naming")


def stratum(line: str) -> tuple[str, str, bool]:
    case = json.loads(line)
    expect = case["expect"]
    return case["lang"], family_of(expect["intent"]), "candidates" in expect


def split(set_name: str, lines: list[str]) -> tuple[list[str], list[str]]:
    """(dev, test): the set's lines, each in exactly one half, in the set's order."""
    groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        groups[stratum(line)].append(index)
    test: set[int] = set()
    for key in sorted(groups):
        members = groups[key]
        lang, family, ambiguous = key
        rng = random.Random(f"{SEED}/{set_name}/{lang}/{family}/{ambiguous}")
        rng.shuffle(members)
        take = len(members) // 2 + (len(members) % 2 if rng.random() < 0.5 else 0)
        test.update(members[:take])
    dev = [line for i, line in enumerate(lines) if i not in test]
    return dev, [lines[i] for i in sorted(test)]


def halves(set_name: str) -> dict[Path, str]:
    """The contents each half's file should have."""
    lines = (SETS_DIR / f"{set_name}.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    dev, test = split(set_name, [line for line in lines if line.strip()])
    return {SETS_DIR / f"{set_name}.dev.jsonl": "".join(dev), SETS_DIR / f"{set_name}.test.jsonl": "".join(test)}


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
                print(f"{path.relative_to(SETS_DIR.parent.parent)}: {text.count(chr(10))} lines")
    for path in stale:
        print(f"split: {path} differs from `python eval/split.py`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
