"""Split the customer set into dev and test halves, by conversation, with a fixed seed.

    python -m eval.customer.split [SET] [--seed N] [--out DIR]

Writes conversations.dev.yaml and conversations.test.yaml beside SET (default
eval/customer/conversations.yaml), or into DIR. A conversation goes whole to one half, so a
follow-up turn is never scored without the turns it follows.

Stratified by language and kind: each conversation falls in a stratum (its language, and
for one turn its kind, for several turns whether it moves between products). Strata of
several turns go first, their conversations longest first, then the one-turn strata, each
shuffled by the seed. Each conversation goes to the half that keeps its stratum's
conversations within one of even and, of two such halves, the one that leaves the halves'
turns of each language and kind closest (a kind's gap counted as a share of its turns, so
the rare kinds weigh as much as "answered"), then the one with fewer turns. The same SET
and seed give the same halves, byte for byte.

Standard library only: the file is read as text, one block per "  - id:" line, in the
layout conversations.yaml's header describes, and each half keeps its blocks verbatim.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter, defaultdict
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


MULTI = ("multi-turn", "multi-product")  # several turns, about one product or several


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
        return (self.language, MULTI[len(self.skus) > 1])


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
    # Turns per (language, kind) and per language, each as [dev, test].
    kind_turns: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    turns: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    total = Counter((block.language, kind) for block in blocks for kind in block.kinds)

    def kind_gap(block: Block, side: int) -> float:
        """How far apart the halves' turns of each kind would be with the block on that side,
        each kind's gap as a share of its turns, so that a rare kind weighs as much as a common one."""
        added = Counter((block.language, kind) for kind in block.kinds)
        gap = 0.0
        for key in total:
            dev, test = kind_turns[key]
            dev, test = (dev + added[key], test) if side == 0 else (dev, test + added[key])
            gap += abs(dev - test) / total[key]
        return gap

    # Conversations of several turns first, longest first: they are the lumpy ones, and the
    # one-turn conversations after them even the halves out.
    for stratum in sorted(strata, key=lambda s: (s[1] not in MULTI, s)):
        members = sorted(strata[stratum], key=lambda b: b.id)
        rng.shuffle(members)
        members.sort(key=lambda b: -len(b.kinds))
        taken = [0, 0]
        for block in members:
            so_far = turns[block.language]
            # Keep the stratum's conversations within one of even, then the kinds' turns,
            # then the language's turns.
            side = min(
                (0, 1),
                key=lambda h: (abs(taken[h] + 1 - taken[1 - h]) > 1, kind_gap(block, h), so_far[h], h),
            )
            halves[side].add(block.id)
            taken[side] += 1
            so_far[side] += len(block.kinds)
            for kind in block.kinds:
                kind_turns[(block.language, kind)][side] += 1
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
