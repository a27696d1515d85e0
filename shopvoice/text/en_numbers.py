"""English number words to digits: cardinals, digit-by-digit ids, decimals, money.

"ninety nine dollars" -> "99 dollars", "nine zero one two" -> "9012",
"one hundred and five" -> "105", "a hundred" -> "100", "twelve point five
percent" -> "12.5%", "ninety nine dollars and ninety cents" -> "99.90 dollars".
Adjacent numbers that do not combine stay apart ("twelve thirty four" -> "12 34");
the order id slot joins such groups.
"""

from __future__ import annotations

import re

ONES: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS: dict[str, int] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ZERO_WORDS = {"oh": 0, "o": 0}
_REPEATS = {"double": 2, "triple": 3}
_NUMBER_WORDS = set(ONES) | set(TEENS) | set(TENS) | set(SCALES)

# "five dollars fifty" is 5.50, but in "79 bucks, 25 in stock" the 25 is a count, not cents.
_MONEY_CENTS = re.compile(
    r"\b(\d+) (dollars?|bucks|yuan|usd|rmb) (?:and )?(\d{1,2})"
    r"(?: cents?\b|\b(?! (?:in stock|on hand|units?|pieces?|items?|pcs|left|more|of)\b))"
)
# "a buck fifty", "a dollar twenty five": one dollar and the cents (said for small amounts).
_A_DOLLAR_CENTS = re.compile(
    r"\ban? (?:buck|dollar) (?:and )?(\d{1,2})"
    r"(?: cents?\b|\b(?! (?:in stock|on hand|units?|pieces?|items?|pcs|left|more|of)\b))"
)
_PERCENT = re.compile(r"\b(\d+(?:\.\d+)?) ?(?:percent|per cent|pct)\b")
# "seven and a half percent" -> "7.5 percent" ("7 and a half" once the words are digits).
_AND_A_HALF = re.compile(r"\b(\d+) and (?:a )?half\b")
# A share taken off a price, said as a fraction: "discount the shorts by a quarter", "half off
# the yoga mat" are 25% and 50% (a refund of "half" is no percentage and stays).
_SHARE_OFF = (
    (re.compile(r"\bby (?:a |one )?quarter\b"), "by 25%"),
    (re.compile(r"\b(?:a |one )?quarter off\b"), "25% off"),
    (re.compile(r"\bhalf off\b"), "50% off"),
)
_ONLY_CENTS = re.compile(r"\b(\d{1,2}) cents?\b")
# "two dozen", "a dozen": counted in twelves (a wrong count is a wrong stock change)
_DOZEN = re.compile(r"\b(?:(\d+)|an?) dozen\b")


def _is_digit_word(word: str) -> bool:
    return word in ONES or word in _ZERO_WORDS


def _split_hyphens(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        parts = word.lower().split("-")
        if len(parts) > 1 and all(p in _NUMBER_WORDS for p in parts):
            out.extend(parts)
        else:
            out.append(word)
    return out


def _read_digit_sequence(words: list[str], i: int) -> tuple[str, int]:
    """'nine oh double one' -> ('9011', next index); at least two digits."""
    digits: list[str] = []
    while i < len(words):
        low = words[i].lower()
        if low in _REPEATS and i + 1 < len(words) and _is_digit_word(words[i + 1].lower()):
            nxt = words[i + 1].lower()
            digits.append(str(ONES.get(nxt, 0)) * _REPEATS[low])
            i += 2
        elif low in ONES:
            digits.append(str(ONES[low]))
            i += 1
        elif low in _ZERO_WORDS and digits:
            digits.append("0")
            i += 1
        else:
            break
    return "".join(digits), i


def _read_cardinal(words: list[str], i: int) -> tuple[int, int]:
    """One cardinal from words[i:]: returns (value, next index). Stops at the first
    word that cannot continue it (after a unit only a scale may follow)."""
    total = 0
    current = 0
    last = ""  # kind of the previous word: unit, teen, tens, scale
    while i < len(words):
        low = words[i].lower()
        if low == "a" and i + 1 < len(words) and words[i + 1].lower() in SCALES and not last:
            current = 1
            last = "unit"
            i += 1
            continue
        if (
            low == "and"
            and last == "scale"
            and i + 1 < len(words)
            and (words[i + 1].lower() in ONES or words[i + 1].lower() in TEENS or words[i + 1].lower() in TENS)
        ):
            i += 1
            continue
        if low in ONES and last in ("", "tens", "scale"):
            current += ONES[low]
            last = "unit"
        elif low in TEENS and last in ("", "scale"):
            current += TEENS[low]
            last = "teen"
        elif low in TENS and last in ("", "scale"):
            current += TENS[low]
            last = "tens"
        elif (low in SCALES and last in ("unit", "teen", "tens")) or (low == "hundred" and last == "scale" and current):
            scale = SCALES[low]
            if scale == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * scale
                current = 0
            last = "scale"
        else:
            break
        i += 1
    return total + current, i


def _read_fraction(words: list[str], i: int) -> tuple[str, int]:
    """Digit words one by one, zeros included: after 'point' ('point nine nine' -> '99'), or an
    id's digits after a group's 'oh'."""
    digits: list[str] = []
    while i < len(words) and (words[i].lower() in ONES or words[i].lower() in _ZERO_WORDS):
        low = words[i].lower()
        digits.append(str(ONES.get(low, 0)))
        i += 1
    return "".join(digits), i


# "one" as a pronoun: "make the white one 99", "that one", "the other one" (no number, so
# "the white one 99" is not a price said in two groups, 1.99).
_ONE_AFTER = frozenset({"the", "this", "that", "these", "those", "which", "each", "every", "any", "other", "another"})
_NOT_AN_ADJECTIVE = frozenset({"price", "cost", "stock", "total", "amount", "number", "order", "quantity", "sku"})


def _pronoun_one(words: list[str], i: int) -> bool:
    nxt = words[i + 1].lower() if i + 1 < len(words) else ""
    if words[i].lower() != "one" or i == 0 or nxt in SCALES:
        return False
    before = words[i - 1].lower()
    if before in _ONE_AFTER:
        return True
    return (
        i >= 2
        and words[i - 2].lower() in _ONE_AFTER
        and before.isalpha()
        and len(before) > 1  # "the b one twenty" is a SKU said letter by letter
        and before not in _NUMBER_WORDS
        and before not in _NOT_AN_ADJECTIVE
    )


def _starts_number(words: list[str], i: int) -> bool:
    low = words[i].lower()
    if _pronoun_one(words, i):
        return False
    if low in _NUMBER_WORDS and low not in SCALES:
        return True
    nxt = words[i + 1].lower() if i + 1 < len(words) else ""
    if low == "a" and nxt in SCALES:
        return True
    return low in _REPEATS and _is_digit_word(nxt)


def normalize_en_numbers(text: str) -> str:
    """Rewrite English number words in ``text`` as digits (see module doc)."""
    words = _split_hyphens(text.split(" "))
    out: list[str] = []
    i = 0
    while i < len(words):
        if not _starts_number(words, i):
            out.append(words[i])
            i += 1
            continue
        low = words[i].lower()
        nxt = words[i + 1].lower() if i + 1 < len(words) else ""
        if (low in ONES or low in _REPEATS) and (_is_digit_word(nxt) or nxt in _REPEATS):
            digits, i = _read_digit_sequence(words, i)
            out.append(digits)
            continue
        value, i = _read_cardinal(words, i)
        number = str(value)
        if (
            10 <= value <= 99
            and i + 1 < len(words)
            and words[i].lower() in _ZERO_WORDS
            and _is_digit_word(words[i + 1].lower())
        ):
            # An id said in groups: "sixty six oh two" is 6602, not 66 then "oh 2".
            rest, i = _read_fraction(words, i + 1)  # digit words, zeros included
            out.append(f"{number}0{rest}")
            continue
        if i + 1 < len(words) and words[i].lower() == "point":
            frac, j = _read_fraction(words, i + 1)
            if frac:
                number = f"{number}.{frac}"
                i = j
        out.append(number)
    text = " ".join(out)
    if any(ch.isdigit() for ch in text):
        text = _AND_A_HALF.sub(lambda m: f"{m.group(1)}.5", text)
        text = _A_DOLLAR_CENTS.sub(lambda m: f"1.{int(m.group(1)):02d} dollars", text)
        text = _MONEY_CENTS.sub(lambda m: f"{m.group(1)}.{int(m.group(3)):02d} {m.group(2)}", text)
        text = _PERCENT.sub(r"\1%", text)
        text = _ONLY_CENTS.sub(lambda m: f"0.{int(m.group(1)):02d} dollars", text)
    text = _DOZEN.sub(lambda m: str(12 * int(m.group(1) or 1)), text)
    for share, percent in _SHARE_OFF:
        text = share.sub(percent, text)
    return text
