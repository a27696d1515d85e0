"""Numbers, digits and SKUs as English words, the way a merchant says them.

The recogniser's dictionary has words, not digits, so everything the grammar
and the spoken test set contain is written out here, once, the same way.
"""

from __future__ import annotations

import re

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

SKU_PATTERN = re.compile(r"^([A-Za-z]+)(\d+)$")


def say_number(n: int) -> str:
    """0..999_999 as words: 99 -> "ninety nine", 1250 -> "one thousand two hundred fifty"."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"{n} is out of the spoken range 0..999999")
    if n == 0:
        return "zero"
    words: list[str] = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        words += [*_below_thousand(thousands), "thousand"]
    if rest:
        words += _below_thousand(rest)
    return " ".join(words)


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [UNITS[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10:
            words.append(UNITS[rest % 10])
    elif rest >= 10:
        words.append(TEENS[rest - 10])
    elif rest:
        words.append(UNITS[rest])
    return words


def say_digits(digits: str) -> str:
    """Digit by digit, as order and tracking numbers are read out: "1234" -> "one two three four"."""
    return " ".join(UNITS[int(d)] for d in digits)


def say_letters(letters: str) -> str:
    """Letter names as the dictionary spells them: "SF" -> "s f"."""
    return " ".join(letters.lower())


def say_sku(sku: str) -> str:
    """A SKU as letters then a number: "A100" -> "a one hundred", "C7" -> "c seven"."""
    match = SKU_PATTERN.match(sku)
    if not match:
        return say_letters(sku) if sku.isalpha() else sku.lower()
    letters, digits = match.groups()
    spoken_number = say_digits(digits) if digits.startswith("0") or len(digits) > 6 else say_number(int(digits))
    return f"{say_letters(letters)} {spoken_number}"


def say_amount(text: str) -> str:
    """A decimal amount: "99" -> "ninety nine", "99.9" -> "ninety nine point nine"."""
    whole, _, fraction = text.partition(".")
    spoken = say_number(int(whole))
    fraction = fraction.rstrip("0")
    return f"{spoken} point {say_digits(fraction)}" if fraction else spoken
