"""Split the customer set into dev and test halves, by conversation, with a fixed seed.

    python eval/customer/split.py [SET] [--seed N] [--out DIR]

Writes conversations.dev.yaml and conversations.test.yaml beside SET (default
eval/customer/conversations.yaml), or into DIR. A conversation goes whole to one half, so a
follow-up turn is never scored without the turns it follows.

Stratified by language and kind: each conversation falls in a stratum (its language, and
for one turn its kind, for several turns whether it moves between products); within a
stratum the conversations, shuffled by the seed, go to the halves in turn (an odd one to
the half with fewer turns of that language so far); conversations of several turns go
longest first to the half with fewer turns, so both halves get about as many turns. The same SET and seed give the same
halves, byte for byte.

Standard library only: the file is read as text, one block per "  - id:" line, in the
layout conversations.yaml's header describes, and each half keeps its blocks verbatim.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SEED = 29  # the issue the set was written for
DEFAULT_SET = Path(__file__).resolve().parent / "conversations.yaml"

_START = re.compile(r"^  - id: (\S+)\s*$")
_SECTION_COMMENT = re.compile(r"^  #")
_LANGUAGE = re.compile(r"^    language: (\w+)\s*$", re.MULTILINE)
_TURN = re.compile(r"^      - \{ask: .*$", re.MULTILINE)
_KIND = re.compile(r"\bkind: ([a-z_|]+)")
_PRODUCT = re.compile(r"\bproduct: (\[[^\]]*\]|[A-Za-z0-9]+)")


class SplitError(Exception):
    """The set is not in the layout this script reads."""


@dataclass(frozen=True)
class Block:
    id: str
    text: str  # the conversation's lines, verbatim
    language: str
    kinds: tuple[str, ...]  # per turn, the first kind it allows
    skus: frozenset[str]

    @property
    def stratum(self) -> tuple[str, str]:
        if len(self.kinds) == 1:
            return (self.language, self.kinds[0])
        return (self.language, "multi-product" if len(self.skus) > 1 else "multi-turn")


def parse(text: str) -> tuple[str, list[Block]]:
    """The header (everything up to the first conversation) and the conversation blocks."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _START.match(line)]
    ids = [line.split("id:", 1)[1].strip() for line in (lines[i] for i in starts)]
    if not starts:
        raise SplitError("no '  - id:' lines: not a conversations file")
    header = "".join(line for line in lines[: starts[0]] if not _SECTION_COMMENT.match(line))
    if not header.rstrip().endswith("conversations:"):
        raise SplitError("the line before the first conversation must be 'conversations:'")
    if len(set(ids)) != len(ids):
        raise SplitError("conversation ids repeat")
    blocks = []
    for cid, start, end in zip(ids, starts, [*starts[1:], len(lines)], strict=True):
        body = [line for line in lines[start:end] if not _SECTION_COMMENT.match(line)]
        blocks.append(_block(cid, "".join(body)))
    return header, blocks


def _block(cid: str, text: str) -> Block:
    language = _LANGUAGE.search(text)
    turns = _TURN.findall(text)
    if language is None or not turns:
        raise SplitError(f"conversation {cid}: no 'language:' line or no one-line turns")
    kinds: list[str] = []
    skus: set[str] = set()
    for turn in turns:
        kind, product = _KIND.search(turn), _PRODUCT.search(turn)
        if kind is None or product is None:
            raise SplitError(f"conversation {cid}: a turn without kind or product: {turn.strip()}")
        kinds.append(kind.group(1).split("|")[0])
        skus.update(s.strip() for s in product.group(1).strip("[]").split(",") if s.strip() != "null")
    return Block(cid, text, language.group(1), tuple(kinds), frozenset(skus))


def split(blocks: Sequence[Block], seed: int = SEED) -> tuple[list[Block], list[Block]]:
    """The dev and test halves, each in the set's own order."""
    strata: dict[tuple[str, str], list[Block]] = defaultdict(list)
    for block in blocks:
        strata[block.stratum].append(block)
    rng = random.Random(seed)
    halves: tuple[set[str], set[str]] = (set(), set())
    turns: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # per language, per half
    for stratum in sorted(strata):
        members = sorted(strata[stratum], key=lambda b: b.id)
        rng.shuffle(members)
        so_far, taken = turns[stratum[0]], [0, 0]
        # Conversations of several turns differ in length: longest first, each to the half
        # with fewer turns, keeps the halves' turns even (the seed still orders equal ones).
        members.sort(key=lambda b: -len(b.kinds))
        for block in members:
            if len(block.kinds) > 1:
                side = min((0, 1), key=lambda h: (so_far[h], taken[h], h))
            else:
                side = min((0, 1), key=lambda h: (taken[h], so_far[h], h))
            halves[side].add(block.id)
            taken[side] += 1
            so_far[side] += len(block.kinds)
    return [b for b in blocks if b.id in halves[0]], [b for b in blocks if b.id in halves[1]]


def render(header: str, blocks: Sequence[Block], half: str, source: str, seed: int) -> str:
    note = (
        f"# This file is the {half} half of {source}, written by eval/customer/split.py (seed {seed}).\n"
        "# Do not edit it: edit the full set and run the script again.\n"
    )
    head, _, _ = header.rstrip().rpartition("conversations:")
    return head + note + "conversations:\n" + "".join(b.text for b in blocks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="the folder for the halves (default: beside the set)")
    args = parser.parse_args(argv)
    try:
        header, blocks = parse(args.set.read_text(encoding="utf-8"))
    except (OSError, SplitError) as exc:
        print(f"split.py: {args.set}: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.set.parent
    out.mkdir(parents=True, exist_ok=True)
    stem = args.set.name.removesuffix(".yaml")
    for half, members in zip(("dev", "test"), split(blocks, args.seed), strict=True):
        path = out / f"{stem}.{half}.yaml"
        path.write_text(render(header, members, half, args.set.name, args.seed), encoding="utf-8")
        turns = sum(len(b.kinds) for b in members)
        print(f"{path}: {len(members)} conversations, {turns} turns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
