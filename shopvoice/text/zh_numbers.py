"""Chinese numerals, money and percentages to digits (inverse text normalisation).

cn2an covers well-formed numerals but not what people say to a shop assistant:
digit-by-digit ids (一二三四), abbreviated tails (一千二 = 1200), money with
块/毛 (九十九块九 = 99.9), and it raises on approximations (十几). This module is a
small hand-written reader for exactly those forms; cn2an serves as the oracle in
the property tests and for spoken forms in sentence expansion.
"""

from __future__ import annotations

import re

DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
BIG_UNITS: dict[str, int] = {"万": 10_000, "亿": 100_000_000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)

# A run of numerals, optionally with a decimal point between two numerals; ASCII
# digits join a run only next to a Chinese unit ("2万", "1千2").
_RUN = re.compile(
    rf"(?:\d+(?=[十百千万亿]))?(?:[{NUMERAL_CHARS}]|(?<=[十百千万亿])\d+)+"
    rf"(?:点[{''.join(DIGITS)}0-9]+)?"
)
# "一" in these words is not a number (查一下, 便宜一点, 统一).
_YI_WORDS_AFTER = set("下点些起共直般样定切旦律致会遍览键边")
_YI_WORDS_BEFORE = set("统唯万第")
# An approximation (十几, 二十多, 几百) is not a number to act on.
_APPROX_AFTER = set("几多来余")
_APPROX_BEFORE = set("几")

_PERCENT = re.compile(r"百分之([0-9.]+)")
_MONEY_YUAN_JIAO_FEN = re.compile(r"(\d+)(?:块|元)(\d)(?:毛|角)(\d)分?")
_MONEY_YUAN_JIAO = re.compile(r"(\d+)(?:块|元)(\d)(?:毛|角)")
_MONEY_YUAN_FEN = re.compile(r"(\d+)(?:块|元)0(\d)分")
_MONEY_YUAN_TAIL = re.compile(r"(\d+)(?:块|元)(\d)(?![\d.%件个单天折台只箱份条双号])")
_MONEY_JIAO = re.compile(r"(?<![\d.])(\d)(?:毛|角)(?:(\d)分?)?")
_HALF_PRICE = re.compile(r"半价|对折")
# A price said per unit (六十五一包, 99元一件): "one pack" is the unit, not a number. Not after
# 十/百/零 (二十一包 is 21 packs) and only at the end of a clause.
_PER_UNIT = re.compile(
    r"(?<=[0-9二三四五六七八九两元块])一(?:包|件|个|双|条|顶|只|瓶|盒|套|台|副)(?=$|[\s，,。！!？?])"
)
_HALF_PRICE_AFTER_CODE = re.compile(r"(?<=[0-9A-Za-z])(?:半价|对折)")


def read_integer(run: str) -> int | None:
    """Value of a numeral with units (一千二百三十四, 两万五, 一千二); None if malformed."""
    total = 0
    section = 0
    digit: int | None = None
    last_unit = 1
    after_zero = False
    i = 0
    while i < len(run):
        ch = run[i]
        if ch.isdigit():
            j = i
            while j < len(run) and run[j].isdigit():
                j += 1
            digit = int(run[i:j])
            i = j
            continue
        if ch in DIGITS:
            if digit is not None and not after_zero:
                return None  # two digits in a row inside a unit numeral
            digit = DIGITS[ch]
            after_zero = ch in "零〇"
            if after_zero:
                digit = None
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            if section and unit >= last_unit:
                return None  # 三十四十 is two numbers said one after the other, not 70
            section += (1 if digit is None and ch == "十" else (digit or 0)) * unit
            if digit is None and ch != "十":
                return None
            digit = None
            last_unit = unit
            after_zero = False
        elif ch in BIG_UNITS:
            unit = BIG_UNITS[ch]
            if digit is not None:
                section += digit
            if section == 0:
                return None
            total += section * unit
            section = 0
            digit = None
            last_unit = unit
            after_zero = False
        else:
            return None
        i += 1
    if digit is not None:
        # 一千二 = 1200: a bare digit after a unit counts in the next unit down.
        if last_unit >= 100 and not after_zero and run[-2:-1] and run[-2] not in DIGITS:
            section += digit * (last_unit // 10)
        else:
            section += digit
    return total + section


def read_run(run: str) -> str | None:
    """Digits for one numeral run: units read as a number, bare digits one by one."""
    if "点" in run:
        whole, _, frac = run.partition("点")
        whole_text = read_run(whole) if whole else "0"
        frac_digits = "".join(str(DIGITS[c]) if c in DIGITS else c for c in frac)
        if whole_text is None or not frac_digits.isdigit():
            return None
        return f"{int(whole_text)}.{frac_digits}"
    if not any(c in SMALL_UNITS or c in BIG_UNITS for c in run):
        # 一二三四 -> "1234" (ids, phone-style), leading zeros kept.
        return "".join(str(DIGITS[c]) if c in DIGITS else c for c in run)
    if run[0] in BIG_UNITS or run[0] in "百千":
        return None
    value = read_integer(run)
    return None if value is None else str(value)


def _replace_run(match: re.Match[str]) -> str:
    run = match.group(0)
    text = match.string
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    if after in _APPROX_AFTER or before in _APPROX_BEFORE:
        return run
    if run == "一" and (after in _YI_WORDS_AFTER or before in _YI_WORDS_BEFORE):
        return run
    if run in ("万", "亿", "千万", "百万", "万万"):
        return run
    digits = read_run(run)
    if digits is None:
        return run
    # Keep a spoken number apart from digits already there (A100两件 -> A100 2件).
    if before.isascii() and before.isdigit():
        digits = " " + digits
    if after.isascii() and after.isdigit():
        digits += " "
    return digits


def _money(text: str) -> str:
    text = _MONEY_YUAN_JIAO_FEN.sub(r"\1.\2\3元", text)
    text = _MONEY_YUAN_JIAO.sub(r"\1.\2元", text)
    text = _MONEY_YUAN_FEN.sub(r"\1.0\2元", text)
    text = _MONEY_YUAN_TAIL.sub(r"\1.\2元", text)
    return _MONEY_JIAO.sub(lambda m: f"0.{m.group(1)}{m.group(2) or ''}元", text)


def normalize_zh_numbers(text: str) -> str:
    """Rewrite Chinese numerals, money and percentages in ``text`` with ASCII digits.

    九十九块九 -> 99.9元, 一百二十九块九毛九 -> 129.99元, 两百 -> 200, 订单一二三四 ->
    订单1234, 八五折 -> 85折, 百分之十 -> 10%, 十几 stays 十几.
    """
    if not any(c in NUMERAL_CHARS or c in "毛角价" for c in text):
        return text
    # apart from a code before it: A100半价 is A100 at 5折, not a rate of 1005折
    text = _HALF_PRICE.sub("5折", _HALF_PRICE_AFTER_CODE.sub(" 5折", text))
    text = _PER_UNIT.sub("", text)
    text = _RUN.sub(_replace_run, text)
    text = _PERCENT.sub(r"\1%", text)
    return _money(text)
