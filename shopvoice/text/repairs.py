"""Spoken and typed repairs of a number: "make it one fifty, no, one sixty", "一百一 不对 一百一十九".

A merchant who corrects a number mid-sentence means the number after the correction. Left in,
the first one wins the slot (the grammar reads the first number it can) or the two run together
into one. Only a number directly followed by a repair word and another number is dropped, so "no"
and 不对 elsewhere ("no, cancel order 88", 不对吧) are untouched. Runs on normalised text, after the
numbers are digits.
"""

from __future__ import annotations

import re

# A number as the normaliser leaves it: digits, a decimal, a percent, a price said in two groups
# ("1 50"), with the unit a merchant may say after it.
_EN_NUMBER = r"\$?\d+(?:\.\d+)?%?(?: \d{2})?(?: (?:dollars|dollar|bucks|units|pieces|pcs|percent))?"
_EN_REPAIR = re.compile(
    rf"(?<![\w.$]){_EN_NUMBER},? (?:no no|no wait|no sorry|no make that|no|sorry|wait|i mean|make that|actually|"
    r"or rather|rather|scratch that|correction),? "
    # the verb said again before the new number: "drop it 20, no wait, drop it 30"
    r"(?:(?:make it|set it to|put it at|drop it|take off|take|it's|it is|its|let's say|say|to|just) )?(?=\$?\d)",
    re.IGNORECASE,
)
_ZH_NUMBER = r"\d+(?:\.\d+)?%?(?:块钱|块|元|件|个|条|双|顶|张|折)?"
_ZH_REPAIR = re.compile(
    rf"(?<![0-9A-Za-z.]){_ZH_NUMBER} ?(?:不对不对|不对|不是不是|不是|不不|哦不|噢不|啊不|说错了|错了|我是说|应该是) ?"
    # the verb said again before the new number: 降二十 不是 降三十
    r"(?:是|就是|改成|改为|改到|设成|设为|降|降到|降价|涨|涨到|涨价|加|加到|减|补|补到|卖|打|少|便宜)?(?=\d)"
)


def keep_corrected_numbers(text: str, language: str) -> str:
    """``text`` with each number that was corrected right after it left out (see the module doc)."""
    if language == "zh":
        # Chinese text may carry English repairs too ("A100 改成 99 no 89").
        text = _ZH_REPAIR.sub("", text)
    return _EN_REPAIR.sub("", text)
