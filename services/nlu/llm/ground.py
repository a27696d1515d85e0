"""What the model is shown, and what of its answer was really said.

The model is a reader of words, not of numbers: it is given the text our own normaliser
made (shopvoice.text: 九十九块九 → 99.9, 订单一二三四 → 订单1234), with the discount rates
spelled as the percentage they take off (打八五折 → 降价15%, "85 折" is where a small model
answers -85 or -8.5). Its answer is then checked slot by slot against that text
(``ground``): a value that the merchant did not say is dropped, and the dialogue asks for
it when the command cannot run without it. This is where about 60% of the model's errors
went (measured: an invented carrier or tracking number, an amount on a full refund, a
quantity on a new product, an example's value copied).

The checks are by the kind of the slot, read off the descriptor, so a new intent's slots
are checked without code here: numbers (money, integers, percentages, digit ids) must be
numbers of the text, each used once; SKUs must be a code in the text or a product the
text names (the catalog candidates); free text (titles, queries, values) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from google.protobuf.message import Message

from services.nlu.llm.slots import SlotSpec, enum_name, slot_specs
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.grammar.contract import money_value
from shopvoice.grammar.index import grammar_for
from shopvoice.text import normalize

# 打八五折 → (after the normaliser) 打85折 → 降价15%; 九折 → 9折 → 降价10%; 半价 → 5折 → 降价50%.
_ZHE = re.compile(r"(?:打个|打)?\s*(\d(?:\.\d)?|\d\d)\s*折")
# Codes: one to three letters then digits (A100, d42, SF123456); their digits are not numbers said.
# A single letter may stand apart ("d 42"), but not the words "a" and "I" ("a 5 pack"); "to 5" is no code.
_CODE = re.compile(r"(?<![A-Za-z0-9])(?:([A-Za-z]{1,3})|([B-HJ-Zb-hj-z]) )(\d{1,12})(?![0-9])")
_NUMBER = re.compile(r"(?<![0-9.])\d+(?:\.\d+)?")
# A price said in two groups: "one seventy nine" is "1 79" once normalised, and means 1.79 or 179
# (services/nlu/spoken_prices.py chooses by the product's current price).
TWO_GROUPS = re.compile(r"(?<![\d.])([1-9]) (\d{2})(?![\d.])")
ZERO_WORDS = re.compile(r"清零|清空|归零|卖光|卖完|zero|sold out|none left|out of stock", re.IGNORECASE)
# Slots the grammar has a word list for, often invented: the value must be what a word of the text reads as.
_LISTED = ("carrier",)
_ID_SLOTS = ("order_id", "tracking_number")
_HALF = re.compile(r"\bhalf\b|对半|一半", re.IGNORECASE)


def off_percent(rate: str) -> str:
    """The percentage a 折 rate takes off: "9" → "10", "85" → "15", "7.5" → "25"."""
    tenths = Decimal(rate) * 10 if len(rate) == 1 or "." in rate else Decimal(rate)
    return f"{(Decimal(100) - tenths).normalize():f}"


def model_text(text: str) -> str:
    """The utterance as the model sees it: normalised, 折 as the percentage it takes off."""
    normalized = normalize(text).text or text.strip()
    return _ZHE.sub(lambda m: f"降价{off_percent(m[1])}%", normalized)


def codes_in(text: str) -> set[str]:
    """SKU-like codes in the text, upper-case, spaces dropped ("a100", "d 42" → A100, D42)."""
    return {((m[1] or m[2]) + m[3]).upper() for m in _CODE.finditer(text)}


def numbers_in(text: str) -> list[Decimal]:
    """The numbers of the text, codes' digits left out."""
    bare = _CODE.sub(" ", text)
    found: list[Decimal] = []
    for match in _NUMBER.finditer(bare):
        try:
            found.append(Decimal(match[0]))
        except InvalidOperation:
            continue
    return found


class _Said:
    """The text's numbers and codes; a number serves one slot only."""

    def __init__(self, text: str, skus: Iterable[str]) -> None:
        self.text = text
        self.key = re.sub(r"\s+", "", text).upper()
        self.numbers = numbers_in(text)
        if _HALF.search(text):  # "half price", 对半: the 50 the model reads in it
            self.numbers.append(Decimal(50))
        for found in TWO_GROUPS.finditer(text):  # "1 79": the model may read either price
            self.numbers += [Decimal(f"{found[1]}.{found[2]}"), Decimal(found[1] + found[2])]
        self.codes = codes_in(text)
        self.skus = {sku.upper() for sku in skus} | self.codes
        self.zero = bool(ZERO_WORDS.search(text))

    def take(self, value: Decimal) -> bool:
        value = abs(value)
        for index, number in enumerate(self.numbers):
            if number == value:
                del self.numbers[index]
                return True
        return value == 0 and self.zero


def _listed(spec: SlotSpec, value: int | str, text: str) -> bool:
    """Whether a word of the text reads as this value in the grammar's word list for the slot."""
    wanted = (enum_name(spec.enum, value) if spec.enum is not None and isinstance(value, int) else str(value)).lower()
    for language in ("zh", "en"):
        kinds = grammar_for(language).kinds
        try:
            words = kinds.pattern(spec.name)
        except Exception:  # no such list in this language's grammar
            continue
        for found in re.finditer(words, text, re.IGNORECASE):
            read = kinds.read(spec.name, found.group(0))
            if read is not None and str(read).lower() == wanted:
                return True
    return False


def ground(command: Command, text: str, skus: Iterable[str] = ()) -> list[str]:
    """Drop from ``command`` (in place) every slot value the text does not contain; returns what was dropped.

    ``text`` is what the model was given (model_text), ``skus`` the products the text names
    (catalog candidates). Required slots dropped here are asked for by the dialogue.
    """
    intent = command.WhichOneof("intent")
    if intent is None or intent == "unknown":
        return []
    message: Message = getattr(command, intent)
    said = _Said(text, skus)
    dropped: list[str] = []
    specs = sorted(slot_specs(intent), key=lambda s: s.name not in _ID_SLOTS)  # ids take their digits first
    for spec in specs:
        name = spec.name
        if spec.is_list:
            values = list(getattr(message, name))
            if name == "skus":
                kept = [v for v in values if v.upper() in said.skus]
                if kept != values:
                    del getattr(message, name)[:]
                    getattr(message, name).extend(kept)
                    dropped.append(name)
            continue
        if not message.HasField(name) if spec.field.has_presence else not getattr(message, name):
            continue
        value = getattr(message, name)
        if spec.is_money:
            ok = said.take(money_value(value))
        elif name in _LISTED:
            ok = _listed(spec, value, said.text)
        elif spec.enum is not None:
            ok = True
        elif spec.is_integer:
            ok = said.take(Decimal(value))
        elif name == "sku":
            ok = value.upper() in said.skus
        elif name in ("percent", "price_change_percent"):  # a guardrail's percent made up is a wrong setting
            try:
                ok = said.take(Decimal(value))
            except InvalidOperation:
                ok = False
        elif name == "order_id":
            ok = value.isdigit() and said.take(Decimal(value))
        elif name == "tracking_number":
            ok = re.sub(r"\s+", "", value).upper() in said.key
        else:
            ok = True  # titles, queries, facts: as said, checked by validate()
        if not ok:
            message.ClearField(name)
            dropped.append(name)
    return dropped
