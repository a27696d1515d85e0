"""Score the customer channel's answers against an evaluation set.

    python -m eval.customer.score SET ANSWERS [--orders FILE] [--shop FILE] [--errors]

SET is a conversations file (eval/customer/conversations*.yaml; its header says the format).
ANSWERS is JSON Lines, one object per turn the system answered:

    {"conversation": "en-01", "turn": 1, "answer": "...", "kind": "answered", "facts_used": [...]}

`turn` counts from 1 within the conversation; `kind` is answered, handed_off, needs_info or
small_talk; `facts_used` holds strings or {"name": ..., "value": ...} objects. Answers for
turns the set does not have are ignored (one answers file can serve both halves).
--orders is a JSON or YAML object from placeholder name to the seeded order id, needed when
an expect or forbid item holds a placeholder such as "{shipped}".

A turn is correct when the answer's kind is the expected one (or one of "a|b"), every expect
item occurs in it and no forbid item does. A context leak is a forbidden item found in an
answer that is a value of another product than the turn's (its price, title, SKU or a fact),
per the shop file. Also counted, not part of correctness: answers in the wrong language, and
answers with a number that is neither in their facts_used nor in the question.
Exit status: 0 once scored, 2 when a file is missing or malformed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

KINDS = ("answered", "handed_off", "needs_info", "small_talk")
LANGUAGES = ("zh", "en")
DEFAULT_CUSTOMER = "cust-1"
DEFAULT_SHOP = Path(__file__).resolve().parents[2] / "shopvoice_cli" / "demo_shop.yaml"

_NUMERIC_ITEM = re.compile(r"\d+(?:\.\d+)?")
# A number not glued to a letter, digit or point before it: "¥49.00" and "49元" hold 49,
# "E15", "IPX4" and "SF1402938475" hold no number of their own.
_NUMBER = re.compile(r"(?<![a-z0-9.])\d+(?:\.\d+)?")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−~〜"})
_SPACES = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


class InputError(Exception):
    """A set, answers, orders or shop file that cannot be scored; the message says where."""


@dataclass(frozen=True)
class Turn:
    conversation: str
    number: int  # from 1
    language: str
    customer: str
    ask: str
    kinds: tuple[str, ...]  # the right kinds; usually one
    expect: tuple[str, ...]  # each "a|b" item needs one of its alternatives
    forbid: tuple[str, ...]
    products: tuple[str, ...]

    @property
    def kind_label(self) -> str:
        return "|".join(sorted(self.kinds))


@dataclass(frozen=True)
class Reply:
    text: str
    kind: str
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    turn: Turn
    reply: Reply | None
    missing: tuple[str, ...]
    forbidden: tuple[str, ...]
    leaks: tuple[str, ...]
    wrong_language: bool
    ungrounded: tuple[str, ...]

    @property
    def kind_right(self) -> bool:
        return self.reply is not None and self.reply.kind in self.turn.kinds

    @property
    def correct(self) -> bool:
        return self.kind_right and not self.missing and not self.forbidden


def normalise(text: str) -> str:
    """Full-width forms, case, dashes and runs of spaces do not decide a match."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)
    return _SPACES.sub(" ", text)


def numbers_in(text: str) -> set[Decimal]:
    return {Decimal(n) for n in _NUMBER.findall(normalise(text))}


def occurs(item: str, text: str) -> bool:
    """Whether one item (no alternatives) is in the text: a number by value, else as a substring."""
    wanted = normalise(item).strip()
    if _NUMERIC_ITEM.fullmatch(wanted):
        return Decimal(wanted) in numbers_in(text)
    return wanted in normalise(text)


def satisfied(expect_item: str, text: str) -> bool:
    return any(occurs(alternative, text) for alternative in expect_item.split("|"))


def fill(text: str, orders: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: orders.get(m.group(1), m.group(0)), text)


def in_language(text: str, language: str) -> bool:
    han = len(_HAN.findall(text))
    return han > 0 if language == "zh" else len(_LATIN.findall(text)) > han


class ProductValues:
    """What each product of the shop says: the values a context leak would carry."""

    def __init__(self, shop: Mapping[str, Any]) -> None:
        self.texts: dict[str, list[str]] = {}
        self.numbers: dict[str, set[Decimal]] = {}
        for product in shop.get("products") or []:
            sku = str(product["sku"])
            texts = [sku, str(product.get("title", "")), str(product.get("title_en", ""))]
            for fact in (product.get("facts") or {}).values():
                texts.extend(str(value) for value in fact.values())
            self.texts[sku] = [normalise(t) for t in texts if t]
            self.numbers[sku] = {Decimal(str(product["price"]))}.union(*(numbers_in(t) for t in texts))

    @property
    def skus(self) -> set[str]:
        return set(self.texts)

    def owners(self, item: str) -> set[str]:
        """The SKUs whose values hold the item."""
        wanted = normalise(item).strip()
        if _NUMERIC_ITEM.fullmatch(wanted):
            return {sku for sku, numbers in self.numbers.items() if Decimal(wanted) in numbers}
        return {sku for sku, texts in self.texts.items() if any(wanted in t for t in texts)}


def _strings(value: Any, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{where}: {field} must be a list of non-empty strings")
    return tuple(value)


def _products(value: Any, where: str, known: set[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    skus = value if isinstance(value, list) else [value]
    if not all(isinstance(s, str) for s in skus):
        raise InputError(f"{where}: product must be a SKU, a list of SKUs or null")
    unknown = [s for s in skus if known and s not in known]
    if unknown:
        raise InputError(f"{where}: product {', '.join(unknown)} is not in the shop")
    return tuple(skus)


def load_set(path: Path, known_skus: Iterable[str] = ()) -> list[Turn]:
    """Every turn of a conversations file, checked; an InputError names what is wrong.

    With known_skus, a product that is not one of them is an error too.
    """
    known = set(known_skus)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    conversations = document.get("conversations") if isinstance(document, dict) else None
    if not isinstance(conversations, list) or not conversations:
        raise InputError(f"{path}: no 'conversations' list")
    turns: list[Turn] = []
    seen: set[str] = set()
    for conversation in conversations:
        cid = str(conversation.get("id", "")) if isinstance(conversation, dict) else ""
        if not cid or cid in seen:
            raise InputError(f"{path}: a conversation without an id, or a repeated id {cid!r}")
        seen.add(cid)
        language = conversation.get("language")
        if language not in LANGUAGES:
            raise InputError(f"{path}: conversation {cid}: language must be zh or en")
        customer = str(conversation.get("customer") or DEFAULT_CUSTOMER)
        if not isinstance(conversation.get("turns"), list) or not conversation["turns"]:
            raise InputError(f"{path}: conversation {cid}: no turns")
        for number, raw in enumerate(conversation["turns"], start=1):
            where = f"{path}: conversation {cid} turn {number}"
            if not isinstance(raw, dict) or not isinstance(raw.get("ask"), str) or not raw["ask"]:
                raise InputError(f"{where}: no ask")
            if "product" not in raw:
                raise InputError(f"{where}: no product (write null when it is about none)")
            kinds = tuple(str(raw.get("kind", "")).split("|"))
            if not all(kind in KINDS for kind in kinds):
                raise InputError(f"{where}: kind {raw.get('kind')!r} is not one of {', '.join(KINDS)} (or a|b)")
            turns.append(
                Turn(
                    conversation=cid,
                    number=number,
                    language=language,
                    customer=customer,
                    ask=raw["ask"],
                    kinds=kinds,
                    expect=_strings(raw.get("expect"), where, "expect"),
                    forbid=_strings(raw.get("forbid"), where, "forbid"),
                    products=_products(raw["product"], where, known),
                )
            )
    return turns


def _fact_text(fact: Any) -> str:
    if isinstance(fact, dict):
        return " ".join(str(fact.get(key, "")) for key in ("name", "value"))
    return str(fact)


def load_answers(path: Path) -> dict[tuple[str, int], Reply]:
    replies: dict[tuple[str, int], Reply] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: {exc}") from exc
    for index, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{index}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise InputError(f"{where}: not a JSON object")
        conversation, turn, answer, kind = (row.get(k) for k in ("conversation", "turn", "answer", "kind"))
        if not isinstance(conversation, str) or not isinstance(turn, int) or isinstance(turn, bool):
            raise InputError(f"{where}: needs 'conversation' (a string) and 'turn' (an integer from 1)")
        if not isinstance(answer, str) or kind not in KINDS:
            raise InputError(f"{where}: needs 'answer' (a string) and 'kind' (one of {', '.join(KINDS)})")
        facts = row.get("facts_used") or []
        if not isinstance(facts, list):
            raise InputError(f"{where}: 'facts_used' must be a list")
        if (conversation, turn) in replies:
            raise InputError(f"{where}: a second answer for {conversation} turn {turn}")
        replies[(conversation, turn)] = Reply(answer, kind, tuple(_fact_text(f) for f in facts))
    return replies


def load_mapping(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be an object from placeholder name to order id")
    return {str(key): str(value) for key, value in data.items()}


def fill_turns(turns: Iterable[Turn], orders: Mapping[str, str]) -> list[Turn]:
    """The turns with the seeded order ids in place of their placeholders."""
    filled: list[Turn] = []
    for turn in turns:
        expect = tuple(fill(item, orders) for item in turn.expect)
        forbid = tuple(fill(item, orders) for item in turn.forbid)
        left = sorted({m for item in expect + forbid for m in _PLACEHOLDER.findall(item)})
        if left:
            raise InputError(
                f"{turn.conversation} turn {turn.number} needs the order ids of {', '.join(left)}: pass --orders"
            )
        filled.append(replace(turn, ask=fill(turn.ask, orders), expect=expect, forbid=forbid))
    return filled


def judge(turn: Turn, reply: Reply | None, products: ProductValues) -> Verdict:
    if reply is None:
        return Verdict(turn, None, turn.expect, (), (), False, ())
    missing = tuple(item for item in turn.expect if not satisfied(item, reply.text))
    forbidden = tuple(item for item in turn.forbid if occurs(item, reply.text))
    leaks = tuple(item for item in forbidden if products.owners(item) - set(turn.products))
    grounded = numbers_in(turn.ask).union(*(numbers_in(fact) for fact in reply.facts))
    ungrounded = tuple(sorted(str(n) for n in numbers_in(reply.text) - grounded))
    return Verdict(turn, reply, missing, forbidden, leaks, not in_language(reply.text, turn.language), ungrounded)


def score(turns: Sequence[Turn], replies: Mapping[tuple[str, int], Reply], products: ProductValues) -> list[Verdict]:
    return [judge(turn, replies.get((turn.conversation, turn.number)), products) for turn in turns]


def _share(verdicts: Sequence[Verdict]) -> str:
    right = sum(v.correct for v in verdicts)
    return f"{right}/{len(verdicts)} = {100 * right / len(verdicts):.1f}%"


def _breakdown(title: str, verdicts: Sequence[Verdict], names: Sequence[str]) -> list[str]:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for name, verdict in zip(names, verdicts, strict=True):
        groups[name].append(verdict)
    return [f"  by {title}:"] + [f"    {name:<24}{_share(groups[name])}" for name in sorted(groups)]


def report(set_name: str, verdicts: Sequence[Verdict], ignored: int, errors: bool) -> str:
    conversations = len({v.turn.conversation for v in verdicts})
    answered = sum(v.reply is not None for v in verdicts)
    lines = [
        f"{set_name}: {len(verdicts)} turns in {conversations} conversations, {answered} with an answer"
        + (f" ({ignored} answers for other turns ignored)" if ignored else ""),
        f"correct (kind right, every expect, no forbid): {_share(verdicts)}",
    ]
    lines += _breakdown("language", verdicts, [v.turn.language for v in verdicts])
    lines += _breakdown("kind", verdicts, [v.turn.kind_label for v in verdicts])
    leaks = sum(len(v.leaks) for v in verdicts)
    lines += [
        f"context leaks: {leaks} (in {sum(bool(v.leaks) for v in verdicts)} answers)",
        f"answers in the wrong language: {sum(v.wrong_language for v in verdicts)}",
        f"answers with a number not in their facts_used or question: {sum(bool(v.ungrounded) for v in verdicts)}",
    ]
    if errors:
        for verdict in verdicts:
            if verdict.correct and not verdict.wrong_language and not verdict.ungrounded:
                continue
            turn, reply = verdict.turn, verdict.reply
            lines.append("")
            lines.append(f"{turn.conversation} turn {turn.number} [{turn.language}, {turn.customer}] {turn.ask}")
            if reply is None:
                lines.append("  no answer")
                continue
            lines.append(f"  answer ({reply.kind}): {reply.text}")
            if not verdict.kind_right:
                lines.append(f"  kind: {reply.kind}, expected {'|'.join(turn.kinds)}")
            lines.extend(f"  missing: {item}" for item in verdict.missing)
            lines.extend(
                f"  forbidden: {item}" + (" (context leak)" if item in verdict.leaks else "")
                for item in verdict.forbidden
            )
            if verdict.wrong_language:
                lines.append(f"  not in {turn.language}")
            if verdict.ungrounded:
                lines.append(f"  numbers not in facts_used or the question: {', '.join(verdict.ungrounded)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", type=Path, help="a conversations YAML file")
    parser.add_argument("answers", type=Path, help="the system's answers, JSON Lines")
    parser.add_argument("--orders", type=Path, help="placeholder name -> seeded order id (JSON or YAML)")
    parser.add_argument("--shop", type=Path, default=DEFAULT_SHOP, help="the shop file (default: the demo shop)")
    parser.add_argument("--errors", action="store_true", help="print every turn that is not correct")
    args = parser.parse_args(argv)
    try:
        shop = yaml.safe_load(args.shop.read_text(encoding="utf-8"))
        if not isinstance(shop, dict):
            raise InputError(f"{args.shop}: not a shop file")
        products = ProductValues(shop)
        orders = load_mapping(args.orders) if args.orders else {}
        turns = fill_turns(load_set(args.set, products.skus), orders)
        replies = load_answers(args.answers)
    except (InputError, OSError, yaml.YAMLError, KeyError) as exc:
        print(f"score.py: {exc}", file=sys.stderr)
        return 2
    keys = {(t.conversation, t.number) for t in turns}
    ignored = sum(key not in keys for key in replies)
    print(report(str(args.set), score(turns, replies, products), ignored, args.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
