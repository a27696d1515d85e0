"""Character-level clean-up: full-width forms, punctuation, whitespace.

ASR engines and Chinese input methods produce full-width letters and digits
(Ａ１００) and CJK punctuation (，。); the grammar only has to know one form.
"""

from __future__ import annotations

import re
import unicodedata

from shopvoice.text.zh_numbers import NUMERAL_CHARS, read_integer

_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)

# Punctuation that separates phrases becomes a space; symbols with a meaning in
# amounts ($ ¥ % . -) and apostrophes in words (what's) are kept.
_SEPARATORS = re.compile(r"[,，。、;；:：!！?？…~～\"“”‘’()（）\[\]【】《》<>「」『』/\\|*#@&^_=+`]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_SPACES = re.compile(r"\s+")
# A dot that is not a decimal point (sentence end) becomes a space.
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def is_cjk(char: str) -> bool:
    """True for a Han ideograph (the script without spaces between words)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def has_cjk(text: str) -> bool:
    """True when any Han ideograph occurs: the utterance is (also) Chinese."""
    return any(is_cjk(ch) for ch in text)


def fold_width(text: str) -> str:
    """NFKC folds full-width letters, digits and most punctuation to ASCII."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)


# 、 joins the items of a list (保温杯、水壶、瑜伽垫): it reads as 和 so the list stays a list
# once punctuation is gone; not after a leading number ("1、把A100…" numbers a line).
_LIST_COMMA = re.compile(r"(?<!^\d)(?<!^\d\d)(?<=[\w\u3400-\u9fff])、(?=[\w\u3400-\u9fff])")


def strip_punctuation(text: str) -> str:
    """Separators and control characters to spaces; whitespace collapsed."""
    text = _CONTROL.sub(" ", text)
    text = _LIST_COMMA.sub("和", text)
    text = _SEPARATORS.sub(" ", text)
    text = _STRAY_DOT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def join_cjk_spaces(text: str) -> str:
    """Drop spaces next to a Han character: Chinese has no word spaces, ASR adds some. A space
    between two numbers that read as one only apart stays: "d四十二 一百四十九" is D42 at 149,
    and joined it read "d四十二一百四十九", D4 at 2."""
    if " " not in text:
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        beside_han = 0 < i < len(text) - 1 and (is_cjk(text[i - 1]) or is_cjk(text[i + 1]))
        if ch == " " and beside_han and not _two_numbers(text[:i], text[i + 1 :]):
            continue
        out.append(ch)
    return "".join(out)


_NUMERAL_END = re.compile(f"[{NUMERAL_CHARS}]+$")
_NUMERAL_START = re.compile(f"^[{NUMERAL_CHARS}]+")


def _two_numbers(before: str, after: str) -> bool:
    left, right = _NUMERAL_END.search(before), _NUMERAL_START.match(after)
    if not (left and right):
        return False
    apart = read_integer(left.group()) is not None and read_integer(right.group()) is not None
    return apart and read_integer(left.group() + right.group()) is None
