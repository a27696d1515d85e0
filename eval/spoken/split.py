"""Split the spoken sets into a dev half and a test half, stratified, with a fixed seed.

    python3 eval/spoken/split.py

writes commands.dev.jsonl / commands.test.jsonl and non_commands.dev.jsonl /
non_commands.test.jsonl beside the full files. Commands are stratified by intent and
by how the product is named (SKU, name, ambiguous name, none), non-commands by kind
and by language or sound, so each half has the same mix. A stratum of odd size gives
its extra line to dev and test in turn. Lines are copied byte for byte and keep the
order of the full file. Same input, same seed: same halves. Standard library only.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 27  # issue 27; changing it reshuffles the halves, and the test half must stay unseen
NAMING_TAGS = ("ambiguous", "sku", "name")


def command_stratum(row: dict[str, object]) -> str:
    expect = row["expect"]
    assert isinstance(expect, dict)
    tags = row["tags"]
    assert isinstance(tags, list)
    naming = next((tag for tag in NAMING_TAGS if tag in tags), "none")
    return f"{expect['intent']}/{naming}"


def non_command_stratum(row: dict[str, object]) -> str:
    spec = row.get("spec")
    detail = spec.get("sound") if isinstance(spec, dict) else row.get("language", "en")
    return f"{row['kind']}/{detail}"


def split(lines: list[str], stratum_of: str, rng: random.Random) -> tuple[list[str], list[str]]:
    """Return (dev, test): about half of every stratum in each, in the input's order."""
    strata: dict[str, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        row = json.loads(line)
        key = command_stratum(row) if stratum_of == "command" else non_command_stratum(row)
        strata[key].append(index)
    dev: set[int] = set()
    odd_to_dev = True
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        half = len(members) // 2
        if len(members) % 2:
            half += odd_to_dev
            odd_to_dev = not odd_to_dev
        dev.update(members[:half])
    return [lines[i] for i in sorted(dev)], [lines[i] for i in range(len(lines)) if i not in dev]


def write_halves(name: str, stratum_of: str, rng: random.Random) -> None:
    full = HERE / f"{name}.jsonl"
    lines = full.read_text(encoding="utf-8").splitlines()
    dev, test = split(lines, stratum_of, rng)
    for half, chosen in (("dev", dev), ("test", test)):
        (HERE / f"{name}.{half}.jsonl").write_text("".join(line + "\n" for line in chosen), encoding="utf-8")
    print(f"{name}: {len(dev)} dev, {len(test)} test")


def main() -> None:
    rng = random.Random(SEED)
    write_halves("commands", "command", rng)
    write_halves("non_commands", "non_command", rng)


if __name__ == "__main__":
    main()
