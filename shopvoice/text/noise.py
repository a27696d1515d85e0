"""Speech noise: fillers, politeness, stutters (repeated words).

ASR transcripts keep what people say while thinking (嗯, 那个, um, uh) and the
restarts (把把A100, ship ship order). The grammar should not need a variant for
each, so they go before matching. Number words are never collapsed: "nine nine"
is an order id, not a stutter.
"""

from __future__ import annotations

import re

_ZH_FILLERS = re.compile(
    # "跟你说下" first: after a leading 嗯 it is still the sentence's frame, not its content
    r"(?:^(?:[嗯呃额啊哎唉哦噢\s]|那个|就是说)*|(?<=[,， ]))(?:跟你说|和你说|告诉你)一?下?|嗯+|呃+|^额|啊+(?=[,， ]|$)|哎+|唉+|哦+|噢+|那个|就是说|然后呢?|(?<=.)(?:帮我|给我)(?=.)"
)
_ZH_POLITE_PREFIX = re.compile(
    r"^(?:请你?|麻烦你?|你帮我|帮我|帮忙|能不能|能否|可不可以|可以|我想|我要|我想要|给我|帮|先|再|你先|老板想|老板要|那就|那么就?|所以就?|"
    r"想(?=看|查|知道|了解)|(?:我们|咱们|咱|我)(?!的))+"
    # a request to look, before what is looked up (看看库存低于15件的商品有哪些)
    r"(?:(?:看看|看一下|查一下|查查|瞧瞧|了解一下)(?=.{4}))?(?=.)"
)
_ZH_FINAL_PARTICLES = re.compile(r"(?<=.)(?:吧|呢|啊|呀|啦|哈|嘛|哦|来着|谢谢|谢谢你)+$")
_EN_FILLERS = re.compile(
    r"\b(?:um+|uh+|umm+|uhm+|erm|er|ah|hmm+|mm+|oops|whoops|you know|i mean(?!,? (?:\$?\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred)\b))|(?<!\bd )(?<!would )"
    r"(?<!\bi )like(?= ))\b",
    re.IGNORECASE,
)
_EN_POLITE_PREFIX = re.compile(
    r"^(?:(?:hey|hi|ok so|okay so|so|well|please|kindly|can you|could you|would you|will you|"
    r"i want to|i'd like to|i would like to|i need to|i wanna|let's|lets|let us|go ahead and|just"
    r") )+(?=\S)",
    re.IGNORECASE,
)
# ...and how long or how soon, which no command takes ("20% off the hoodies for the weekend",
# "pull them from the store for now", "take 5 bucks off the red tee real quick").
_EN_POLITE_SUFFIX = re.compile(
    r"(?<=\S)(?: please| thanks| thank you| for me| real quick| quickly| asap| right away| for now| for the time being"
    r"|(?<=\d) only"  # "update price of wool socks to 55 only": an amount said the Indian-English way
    r"| temporarily| (?:for|over|this|just for) (?:the )?weekend| when you get a (?:chance|sec|second))+$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_NUMBER_WORDS = frozenset(
    [
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "double",
        "triple",
    ]
)
# Chinese numerals repeat in ids (一一二), reduplicated verbs are harmless to collapse.
# Single characters repeated are words (天天, 看看) unless they are function words.
_ZH_STUTTER = re.compile(r"([把将给我的那这请帮就在])\1+")
_ZH_NUMERALS = frozenset("零〇一幺二两三四五六七八九十百千万亿0123456789")


def remove_zh_fillers(text: str) -> str:
    """Drop hesitation sounds and polite frames around a Chinese command."""
    text = _ZH_FILLERS.sub("", text)
    text = _ZH_POLITE_PREFIX.sub("", text)
    return _ZH_FINAL_PARTICLES.sub("", text)


def remove_en_fillers(text: str) -> str:
    """Drop hesitation words and polite frames around an English command."""
    text = _EN_FILLERS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    text = _EN_POLITE_PREFIX.sub("", text)
    return _EN_POLITE_SUFFIX.sub("", text)


def collapse_en_repeats(text: str) -> str:
    """'ship ship order' -> 'ship order'; number words and digits are kept."""
    words = text.split(" ")
    out: list[str] = []
    for word in words:
        if out and word.lower() == out[-1].lower() and word.lower() not in _NUMBER_WORDS and not (word.isdigit()):
            continue
        out.append(word)
    return " ".join(out)


def collapse_zh_repeats(text: str) -> str:
    """'把把A100' -> '把A100', '订单订单' -> '订单'; numerals are kept (一一二 is an id)."""
    if len(text) < 2:
        return text
    for size in (4, 3, 2):
        i = 0
        out: list[str] = []
        while i < len(text):
            chunk = text[i : i + size]
            if (
                len(chunk) == size
                and text[i + size : i + 2 * size] == chunk
                and not any(c in _ZH_NUMERALS or c.isascii() for c in chunk)
            ):
                i += size  # drop the first copy, keep the second
                continue
            out.append(text[i])
            i += 1
        text = "".join(out)
    return _ZH_STUTTER.sub(r"\1", text)


_CONTRACTIONS = {
    "what's": "what is",
    "whats": "what is",
    "that's": "that is",
    "it's": "it is",
    "let's": "let us",
    "where's": "where is",
    "how's": "how is",
    "there's": "there is",
    "who's": "who is",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "can't": "cannot",
    "won't": "will not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "haven't": "have not",
    "hasn't": "has not",
    "i'd": "i would",
    "i'm": "i am",
    "we've": "we have",
    "we're": "we are",
    "what're": "what are",
    "what'd": "what did",
    "how'd": "how did",
    "where'd": "where did",
    "you're": "you are",
    "i've": "i have",
    "we'd": "we would",
    # Speech recognisers and fast typists leave the apostrophe out; only the forms that are no
    # other word ("its", "were", "lets", "wont", "well" are words) are read as contractions.
    "thats": "that is",
    "theres": "there is",
    "wheres": "where is",
    "hows": "how is",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "cannot",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "havent": "have not",
    "hasnt": "has not",
    "im": "i am",
    "weve": "we have",
    "youre": "you are",
    "ive": "i have",
}
_CONTRACTION = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in _CONTRACTIONS) + r")(?![\w'])", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?<=[\w])'s\b", re.IGNORECASE)


# A merchant speaks for the shop: "how much did I sell", "do I have any left", "I sold
# three" mean what the grammar's "we" says. Only "I" next to a verb becomes "we", so a
# lone letter I (a SKU's prefix, "size I") is left alone.
_EN_I_AFTER_AUX = re.compile(
    r"\b(did|do|have|has|had|can|could|should|will|would|shall)( not)? i\b(?!')", re.IGNORECASE
)
_EN_I_BEFORE_VERB = re.compile(
    r"(^|\b(?:and|so|that|what|how much|how many|which|if) )i "
    r"(?=(?:have|had|sold|made|earned|did|do|got|received|need|just|already|only|still)\b)",
    re.IGNORECASE,
)


def speak_for_the_shop(text: str) -> str:
    """'how much did I sell' -> 'how much did we sell'; 'I sold 3' -> 'we sold 3'."""
    text = _EN_I_AFTER_AUX.sub(lambda m: f"{m.group(1)}{m.group(2) or ''} we", text)
    return _EN_I_BEFORE_VERB.sub(r"\1we ", text)


# Chat shorthand for the shop's words ("hoodie red stk?", "refunded this wk", "A100 qty"): the
# grammar spells the words out. Only whole words; "inv" and "px" are left alone (an invoice, a
# pixel, or a SKU's letters).
_EN_SHORTHAND = {
    "stk": "stock",
    "qty": "quantity",
    "wk": "week",
    "wks": "weeks",
    "mth": "month",
    "yday": "yesterday",
    "yest": "yesterday",
    "tmrw": "tomorrow",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "ord": "order",
}
_EN_SHORTHAND_WORD = re.compile(r"\b(?:" + "|".join(_EN_SHORTHAND) + r")\b", re.IGNORECASE)


def expand_en_shorthand(text: str) -> str:
    """ "hoodie red stk" -> "hoodie red stock" (see _EN_SHORTHAND)."""
    return _EN_SHORTHAND_WORD.sub(lambda m: _EN_SHORTHAND[m.group(0).lower()], text)


def expand_en_contractions(text: str) -> str:
    """ "what's" -> "what is"; a remaining possessive is split off: "A100's" -> "A100 's"."""
    text = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(0).lower()], text)
    if "'" not in text:
        return text
    return _POSSESSIVE.sub(" 's", text)
