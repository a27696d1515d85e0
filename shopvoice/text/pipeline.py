"""The normalisation pipeline: raw transcript or typed text -> matchable text.

Order matters: width first (Ａ１００ is digits only after folding), fillers before
numbers (嗯 inside a numeral would split it), numbers before repairs ("one fifty, no,
one sixty" keeps the second number once both are digits) and before code joining ("a one
hundred" is "a 100" before it is "A100").
"""

from __future__ import annotations

from dataclasses import dataclass

from shopvoice.text.code_switch import read_english_terms
from shopvoice.text.codes import join_codes
from shopvoice.text.en_numbers import normalize_en_numbers
from shopvoice.text.noise import (
    collapse_en_repeats,
    collapse_zh_repeats,
    expand_en_contractions,
    expand_en_shorthand,
    remove_en_fillers,
    remove_zh_fillers,
    speak_for_the_shop,
)
from shopvoice.text.repairs import keep_corrected_numbers
from shopvoice.text.symbols import read_symbols
from shopvoice.text.width import fold_width, has_cjk, join_cjk_spaces, strip_punctuation
from shopvoice.text.zh_numbers import normalize_zh_numbers

#: Longer inputs are cut: no command is this long, and matching stays bounded.
MAX_CHARS = 500


@dataclass(frozen=True, slots=True)
class Normalized:
    """Text ready for the grammar, and the language it was read as ("zh" or "en")."""

    text: str
    language: str


def detect_language(text: str) -> str:
    """'zh' when any Han character occurs, else 'en' (the two languages we serve)."""
    return "zh" if has_cjk(text) else "en"


def normalize(text: str) -> Normalized:
    """Inverse text normalisation for one utterance (see the module docstring)."""
    text = fold_width(text[: MAX_CHARS * 2])[:MAX_CHARS]
    text = strip_punctuation(read_symbols(text, detect_language(text)))
    language = detect_language(text)
    if language == "zh" and not has_cjk(without_fillers := remove_zh_fillers(text)):
        # Only a Chinese filler is Chinese ("那个where's order 2468"): English, read as such.
        return normalize(without_fillers)
    if language == "zh":
        # English words inside Chinese text (um, a one hundred) are read too; fillers
        # go while spaces still delimit them.
        text = expand_en_contractions(text)
        text = remove_en_fillers(text)
        text = read_english_terms(text)
        text = join_cjk_spaces(text)
        text = remove_zh_fillers(text)
        text = collapse_zh_repeats(text)
        text = normalize_zh_numbers(text)
        text = normalize_en_numbers(text)
        if not has_cjk(text):
            # Only a Chinese filler was Chinese ("嗯，yes yes", "那个um undo that"): read
            # the rest as English, from the start, so English fillers and politeness go too.
            return normalize(text)
    else:
        text = expand_en_shorthand(expand_en_contractions(text))
        text = remove_en_fillers(text)
        text = speak_for_the_shop(text)
        text = collapse_en_repeats(text)
        text = normalize_en_numbers(text)
    text = keep_corrected_numbers(text, language)
    text = join_codes(text)
    return Normalized(text=text.strip(), language=language)
