"""Slot kinds: how each ``{kind}`` in a template is matched and read.

Built-in kinds read normalised text (digits, ASCII): money, quantity, percent,
discount, order_id, tracking, sku/code/title. List kinds (carrier, period,
metric, status, order_status) come from the sentence files as phrase -> value.
A reader returns None to reject a match (a value out of range is no parse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shopvoice.text.amounts import MAX_MONEY, discount_to_percent, parse_decimal

SlotValue = str | int | Decimal | tuple[str, ...]

# A merchant's code ("A100", "TS-1-RED") or one the catalog generated: P and eight hex
# digits, at least one a digit ("P525150DD", "P3F9A1C2-2").
SKU_CODE = r"(?:P(?=[A-Fa-f]{0,7}\d)[0-9A-Fa-f]{8}(?:-\d+)?|[A-Za-z]{1,4}-?\d{1,10}(?:-[A-Za-z0-9]+)*)"
SKU_CODE_RE = re.compile(rf"{SKU_CODE}")
_TITLE = {"zh": r"[^ ].{0,39}?", "en": r"[^ ].{0,59}?"}
# An English plural: "hoodies", "the t-shirts", "jeans" (a list, not one product).
_PLURAL = r"[^ ].{0,58}?[a-z]s"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
MAX_QUANTITY = 10_000_000

BUILTIN_PATTERNS: dict[str, str] = {
    # Neither starts inside a code: "to F8" is the product F8, never a title "F" priced at 8. No
    # number starts or ends inside another: 搪瓷杯…24个 is 24 pieces, never a price of 2 and 4 pieces.
    "money": (
        r"(?<![A-Za-z0-9.])[$¥]?(?:\d{1,3} \d{2}(?!\d)|\d+(?:\.\d+)?(?![0-9]))"
        r"(?: ?(?:元钱|元|块钱|块|rmb|人民币|dollars?|bucks|quid|usd|yuan|kuai))?"
    ),
    "quantity": (
        r"(?<![A-Za-z0-9.])\d+(?![0-9])"
        r"(?: ?(?:件|个|台|只|箱|份|条|双|套|瓶|包|盒|顶|支|张|本|袋|罐|卷|对|副|把|片|units?|pieces?|pcs|items?))?"
    ),
    "percent": r"(?<![0-9.])\d+(?:\.\d+)?%",
    "discount": r"(?<![0-9.])\d+(?:\.\d+)?折",
    "order_id": r"(?<![A-Za-z0-9])#?\d+(?:[ -]\d+)*(?![0-9])",
    "tracking": r"[A-Za-z0-9]{4,30}",
    "code": SKU_CODE,
    # "with DHL 1234567890" once codes are joined ("DHL1234567890"): a carrier whose numbers do
    # not start with its name, then its tracking number; the parser splits the two.
    "carrier_tracking": r"(?:dhl|ups|fedex|usps)(?:\d{6,30}|1z[0-9a-z]{6,28})",
    # Two or more codes: "c7 and d42", "A100、F9" (、 is a space once normalised).
    "skus": rf"{SKU_CODE}(?:(?: ?(?:,|，|、|&|和|跟|与|及|以及|还有|and|plus) ?| ){SKU_CODE})+",
}


_DOLLARS_CENTS = re.compile(r"(\d{1,3}) (\d{2})(?!\d)")


def _money(text: str) -> SlotValue | None:
    # "nine ninety nine" is read "9 99": dollars and cents, as prices are said.
    split = _DOLLARS_CENTS.search(text)
    found = _NUMBER.search(text)
    if split:
        value = parse_decimal(f"{split.group(1)}.{split.group(2)}")
    else:
        value = parse_decimal(found.group(0)) if found else None
    if value is None or value > MAX_MONEY:
        return None
    return value


def _quantity(text: str) -> SlotValue | None:
    found = _NUMBER.search(text)
    if not found or "." in found.group(0):
        return None
    value = int(found.group(0))
    return value if value <= MAX_QUANTITY else None


def _percent(text: str) -> SlotValue | None:
    value = parse_decimal(text.rstrip("%"))
    if value is None or value > 100:
        return None
    return format(value.normalize(), "f") if value else "0"


def _discount(text: str) -> SlotValue | None:
    return discount_to_percent(text.rstrip("折"))


def _order_id(text: str) -> SlotValue | None:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if 0 < len(digits) <= 24 else None


def _skus(text: str) -> SlotValue | None:
    codes = tuple(code.upper() for code in re.findall(rf"(?<![A-Za-z0-9]){SKU_CODE}(?![A-Za-z0-9])", text))
    return codes if len(codes) >= 2 else None


# What a bulk selection's or a product list's `query` is not: words for "products" at large.
_GENERIC_PRODUCTS = frozenset(
    [
        "商品",
        "产品",
        "东西",
        "宝贝",
        "货",
        "货品",
        "单品",
        "款",
        "价格",
        "库存",
        "products",
        "product",
        "items",
        "item",
        "things",
        "stuff",
        "everything",
        "goods",
        "listings",
        "skus",
        "sku",
        "price",
        "prices",
        "stock",
        "inventory",
    ]
)
_EN_QUERY_DROP = re.compile(
    r"^(?:(?:the|my|our|of|of the|your)\s+)+|\s+(?:products?|items?)$"
    # where they are, which is every product: "everything in the store", "hoodies in the shop"
    r"|(?:^|\s+)(?:in|across|from) (?:the |our |my )?(?:whole |entire )?(?:store|shop|catalog|catalogue|site)$"
)
_ZH_QUERY_DROP = re.compile(r"^(?:所有|全部)?(?:的|了)+|(?:的|类|这类|系列)?(?:商品|产品|宝贝)$|(?:的|来着|呢|啊|呀)$")
# A product status is no product word: "list drafts" lists draft products.
_STATUS_WORDS = frozenset({"draft", "drafts", "archived", "active", "live", "草稿", "下架", "上架", "在售"})
# Two things joined in Chinese (红T和白T): two products, never one product or one kind.
_ZH_AND = re.compile(r"[\u3400-\u9fffA-Za-z0-9](?:和|跟|与|以及|还有)[\u3400-\u9fffA-Za-z0-9]")
# A quantifier: what follows is a selection (所有T恤), not a product.
_QUANTIFIED = re.compile(r"所有|全部|每个|每款|(?:all|every|each)\b", re.IGNORECASE)
_KEEP_S = frozenset({"jeans", "shorts", "pants", "trousers", "leggings", "glasses", "dress", "thermos"})


def _english_singular(word: str) -> str:
    if word in _KEEP_S or len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies") and word not in ("hoodies", "beanies", "cookies", "onesies", "ties"):
        return word[:-3] + "y"
    if word.endswith("ives"):
        return word[:-4] + "ife"  # knives
    if word.endswith("ves") and word[-4] in "lra":
        return word[:-3] + "f"  # scarves, shelves
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


# Why a change is made, said after what it selects: no product words.
_EN_REASON = re.compile(r"\s+(?:for|because|since|as|so that|ahead of|before) .*$")


def selection_query(text: str) -> str:
    """The product words of a selection as the contract writes them: English lower-case and
    singular ("t-shirt", "hoodie"; "jeans" stays), Chinese as said ("T恤"); "" for words that
    name every product (商品, "products")."""
    words = text.strip()
    if re.search(r"[\u3400-\u9fff]", words):
        words = _ZH_QUERY_DROP.sub("", words.replace(" ", "")).strip()
        return "" if not words or words in _GENERIC_PRODUCTS else words
    words = _EN_QUERY_DROP.sub("", words.casefold().replace(" 's", "").replace("'s", "")).strip()
    words = _EN_REASON.sub("", words)  # "every product for the giveaway samples" selects every product
    if not words or words in _GENERIC_PRODUCTS:
        return ""
    words = re.sub(r"\bt shirts?\b", lambda m: m.group().replace(" ", "-"), words)  # as spoken
    *head, last = words.split()
    return " ".join([*head, _english_singular(last)])


_NOT_PRODUCT_WORDS = re.compile(
    r"订单|单子|退款|发货|付款|销量|销售|补货|进货|order|refund|sale|revenue", re.IGNORECASE
)


# A verb alone is no selection of products ("those called 打"): a sentence whose optional selection
# took it fails, and one that reads without it is taken (template.py leaves such a slot empty first).
_ZH_VERBS_ALONE = frozenset(
    {"打", "做", "搞", "来", "参加", "卖", "改", "改成", "调", "降", "涨", "都", "统一", "一律"}
)


_ZH_SELECTION_WORDS = re.compile(r"(?:全部|全都|所有|统一|一律)$|^(?:草稿|下架|已下架|上架|已上架|在售)(?:里|中|里面)")
_EN_DIRECTION_LAST = re.compile(r"(?<![a-z])(?:down|up|off|by|to|at)\s*$", re.IGNORECASE)
# A verb read into the kind: "every hoodie goes to 219" selects hoodies, not "hoodie goe".
_EN_VERB_LAST = re.compile(r"(?<![a-z])(?:go|goes|get|gets|is|are|should|will|need|needs|can)\s*$", re.IGNORECASE)


def _query(text: str) -> SlotValue | None:
    if not any(c.isalpha() for c in text) or _NOT_PRODUCT_WORDS.search(text):
        return None  # orders, refunds and sales are not products to list or select
    if STOCK_WORDS.search(text) or PRICE_WORDS.search(text):
        return None  # 库存低于15件 is a stock question, not product words to list by
    if text.strip().casefold() in _STATUS_WORDS or re.search(r"\band the\b", text, re.IGNORECASE):
        return None  # "thermos and the backpack" is two products (the products kind)
    if text.strip() in _ZH_VERBS_ALONE or _ZH_AND.search(text):
        return None  # 红T和白T is two products (the products kind), not one kind of them
    if _ZH_SELECTION_WORDS.search(text):
        return None  # 卫衣全部 (统一卖189), 草稿里 (的商品): a quantifier or a status, not the kind's name
    if _EN_DIRECTION_LAST.search(text) or _EN_VERB_LAST.search(text):
        return None  # "all hoodies down to 199": the direction belongs to the sentence, not the kind
    return selection_query(text)


def _upper(text: str) -> SlotValue | None:
    return text.upper()


def _tracking(text: str) -> SlotValue | None:
    # A tracking number has digits: "with UPS, actually make it DHL" has none in "actually".
    return _upper(text) if any(c.isdigit() for c in text) else None


def _raw(text: str) -> SlotValue | None:
    return text.strip() or None


_QUOTES = "'\"‘’“”「」《》"


# What introduces a new product's name (帮我创建个product叫recycled tote), and what no name holds:
# a price or a count said with it ("Ceramic Mug 45 each we have" read the rest of the line as the title).
_TITLE_LEAD = re.compile(
    r"^(?:(?:个|一个)?(?:product|item|商品|产品|新品|新商品)\s*)?(?:叫做|名叫|名字叫|叫)\s*", re.IGNORECASE
)
_NOT_IN_A_TITLE = re.compile(
    r"\d\s*(?:each|apiece|bucks|dollars|元|块)|(?<![a-z])(?:we have|in stock|priced)(?![a-z])", re.IGNORECASE
)


def _title(text: str) -> SlotValue | None:
    """A new product's title as said, without the quotes it was typed in ('Cotton Tote Bag Large')."""
    text = _TITLE_LEAD.sub("", text.strip())
    if _NOT_IN_A_TITLE.search(text):
        return None
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text or None


# People are never products: "what did we make", "how much did you sell" (a product slot
# can stand where the subject does). "it"/"this"/"that" stay: they name the product
# just discussed, which the dialogue fills in.
_PEOPLE = frozenset(
    {
        "i",
        "we",
        "you",
        "they",
        "us",
        "me",
        "he",
        "she",
        "them",
        "everyone",
        "anyone",
        "someone",
        "我",
        "我们",
        "咱们",
        "咱",
        "你",
        "你们",
        "他",
        "她",
        "他们",
        "她们",
        "大家",
    }
)


# Nor is everything one product (全场打八折 is a bulk change), nor a question (哪些sku库存不到10件).
_NEVER_A_PRODUCT = frozenset(
    {"全场", "全店", "所有", "全部", "所有商品", "全部商品", "全场商品", "everything", "all"}
    # nor what a product has: "take 2 off stock" is no price change of a product called stock
    | {"stock", "the stock", "inventory", "the inventory", "price", "the price", "库存", "价格"}
)
_QUESTION = re.compile(r"哪些|哪个|哪几|什么|多少")
# ... nor a place stock is taken from ("take 2 off stock", "remove 3 from inventory")
_FROM = re.compile(r"(?:off|from) ", re.IGNORECASE)
# ... nor several products ("jeans and the yoga mat both 10% off", 店里每样东西都补20件): one
# product's command read from them would be a wrong action.
_LIST = re.compile(r"(?<![a-z])(?:both|each|and|plus)(?![a-z])|[,&、]|都|以及", re.IGNORECASE)
# What a product has, inside what was read as its name: "red tshirt stock is 88 now" sets no
# price of a product called "red tshirt stock". Checked against the intent (grammar/index.py):
# "how much inventory for the earbuds" asks the earbuds' stock.
STOCK_WORDS = re.compile(r"(?<![a-z])(?:stock|inventory|on hand|in stock)(?![a-z])|库存|存货", re.IGNORECASE)
PRICE_WORDS = re.compile(r"(?<![a-z])(?:price|prices|priced|cost)(?![a-z])|价格|价钱|售价", re.IGNORECASE)


# A fact's value is a statement: "保温杯容量多少" and "the thermos capacity what is it" ask.
_ASKS = re.compile(
    r"多少|什么|哪|几|吗|呢|么|怎么|\?|^(?:what|how|which|is|are|does|do)\b|\bhow (?:many|much)\b", re.IGNORECASE
)


# ... and no verdict on it ("the hoodie colors are kinda meh", 卫衣颜色挺好看的).
_VERDICT = re.compile(
    r"好看|难看|觉得|(?<![a-z])(?:kinda|kind of|meh|ugly|nice|great|weird|tbh|lol|honestly)(?![a-z])", re.IGNORECASE
)


# What is said after the value: a request to write it ("，详情页补上吧", ", please update it"),
# "now" or "actually" ("it's made of 16 oz canvas now", "holds 30 litres actually"), or why it
# changed ("8 hours per charge now with the new batch"): not part of the value.
_AFTER_VALUE = re.compile(
    r"\s*(?:[,，]\s*(?:[^,，]*(?:吧|一下|补上|加上|记上|写上|更新|please|pls|thanks|thank you"
    r"|(?:put|set|add|save|record|note|write|list|mark) (?:that|it|this)|as (?:its|the))[^,，]*)"
    r"|\s+(?:now|right now|from now on|actually|btw|by the way|fyi)"
    r"|\s+(?:now\s+)?(?:with|since|after|from|thanks to) the (?:new|latest|updated|next) [a-z]+|现在)$",
    re.IGNORECASE,
)


# A correction's adverb before the value: "the capacity is actually 800 ml", 材质其实是纯棉.
_BEFORE_VALUE = re.compile(
    # 保温杯容量写错了 应该是450毫升: the correction's "was wrong, should be" is no part of the value
    r"^(?:(?:actually|really|in fact|now|just)\s+|(?:(?:写|填|标)?错了\s*|不对\s*)?(?:应该是|应为|应该为|其实|实际上|实际)(?:是)?"
    # hoodie 产地填广东东莞: the verb of writing it down
    r"|(?:填上|填写|填|写上|写成|标上)(?=\S))",  # not 标 alone: 标准码 is a value
    re.IGNORECASE,
)


def trim_value(text: str) -> str:
    """A fact's value without a correction's adverb before it or what was said after it (see
    _BEFORE_VALUE, _AFTER_VALUE)."""
    return _BEFORE_VALUE.sub("", _AFTER_VALUE.sub("", text.strip()))


def _fact_value(text: str) -> SlotValue | None:
    if _ASKS.search(text.strip()) or _VERDICT.search(text):
        return None
    return _raw(trim_value(text))


# A value said with no verb before it ("羊毛袜产地 内蒙古", "thermos care hand wash only") is a
# statement only if it is no opinion: "not sure about the new hoodie colors tbh" sets nothing.
_OPINION = re.compile(
    r"不太|太|挺|好看|难看|一般|一半般|怎么样|吧|啊|呀|嘛|觉得|感觉|喜欢"
    r"|(?<![a-z])(?:not|no|kinda|kind of|meh|ugly|nice|great|weird|sure|think|maybe|probably|tbh|lol|honestly|really)(?![a-z])",
    re.IGNORECASE,
)


def _statement(text: str) -> SlotValue | None:
    return None if _OPINION.search(text) else _fact_value(text)


# Two or more products named by title in one breath, joined by a conjunction: "jeans and the
# yoga mat", "the cap, the shorts and the socks" (the commas are gone once normalised, so
# only the last two are read as a list), 牛仔裤跟短裤. Each item must read as one product; the
# NLU resolves each against the catalog.
_PRODUCTS = {
    "zh": r"[^ ]{1,12}?(?:(?:和|跟|与|以及|及|还有)[^ ]{1,12}?)+?",
    "en": r"(?:the )?[a-z0-9][a-z0-9 -]{0,30}?(?:(?: and| plus| &) (?:the )?[a-z0-9][a-z0-9 -]{0,30}?)+?",
}
_PRODUCTS_SPLIT = re.compile(r"(?<![a-z])(?:and|plus)(?![a-z])|[,&]|和|跟|与|以及|及|还有", re.IGNORECASE)


def _item(text: str) -> str:
    return re.sub(r"^the\s+", "", text.strip(), flags=re.IGNORECASE)


def _products(text: str) -> SlotValue | None:
    items = []
    # "the cap, the shorts and the socks" comes without its commas: "the" starts an item too
    parts = [piece for part in _PRODUCTS_SPLIT.split(text) for piece in re.split(r"\s+the\s+", part)]
    for item in (_item(part) for part in parts if part.strip()):
        words = item.split()
        # "A100 A101 and F9": codes said one after another are items each
        items += words if len(words) > 1 and all(SKU_CODE_RE.fullmatch(w) for w in words) else [item]
    if len(items) < 2 or any(_product(item) is None for item in items):
        return None  # "所有T恤和卫衣" selects kinds (_product refuses a quantifier), which a list cannot say
    return tuple(item.upper() if SKU_CODE_RE.fullmatch(item) else item for item in items)


_ORDERS = re.compile(r"订单|单子|(?<![a-z])orders?(?![a-z])", re.IGNORECASE)
# Adverbs of the verb that follows, read into the name before it.
_ZH_ALMOST = re.compile(r"(?:快|快要|就要|马上|差不多|几乎)$")
_ZH_THEN = re.compile(r"(?<=[\u3400-\u9fffA-Za-z0-9])(?:先|再)$")


def _product(text: str) -> SlotValue | None:
    text = text.strip()
    folded = text.casefold()
    if not text or folded in _PEOPLE or folded in _NEVER_A_PRODUCT or _QUESTION.search(text) or _FROM.match(text):
        return None
    if _ORDERS.search(text):
        return None  # "show me orders waiting to ship", 订单8009发货没有: about orders, not a product
    if text in _ZH_VERBS_ALONE or text in ("降到", "涨到", "改到", "卖到"):
        return None  # 降到269 names no product: 降 is the verb
    if _LIST.search(text) or _ZH_AND.search(text) or _QUANTIFIED.match(text) or folded in _STATUS_WORDS:
        return None
    if _ZH_ALMOST.search(text):
        return None  # 红色卫衣快(断货了) is almost out, never out: no product called 红色卫衣快
    return _ZH_THEN.sub("", text) or None  # 白色的先(下架): the order of things, not the name


# A product named alone before an amount ("red tee $75", 短裤89, "backpack 160"): a few words
# that name a thing, no verb, no order, no report, nothing an amount could belong to instead.
# Without a catalog ("shopvoice parse") any words read as a title, so "refund 89" or "order
# 1234" must never pass for a product here.
_TERSE_MAX_WORDS = 4
_TERSE_MAX_CHARS_ZH = 8
_TERSE_NOT_A_NAME = re.compile(
    r"(?<![a-z])(?:order|orders|refund|refunds|refunded|ship|shipped|shipping|cancel|undo|set|add|remove|"
    r"make|made|take|put|give|raise|lower|drop|cut|change|update|confirm|yes|no|ok|okay|list|show|total|"
    r"sold|sell|sales|revenue|rev|report|today|yesterday|week|weeks|month|months|year|days|past|last|this|"
    r"previous|next|how|what|which|who|is|are|was|"
    r"to|at|by|for|of|in|on|off|from|with|under|over|than|per|each|every|plus|minus|up|down|more|less|"
    r"units|pieces|pcs|items|percent|dollars|bucks|quid|limit|threshold|guardrail|stock|price|inventory)(?![a-z])"
    r"|订单|单|退|发|寄|库存|价|卖|售|改|加|减|设|查|看|多少|几|涨|降|打|折|上架|下架|撤|确认|取消|收入|营业"
    r"|今天|昨天|本周|这周|上周|本月|这个月|上个月|低于|高于|少于|不到|剩|补|进|入|出|盘|清",
    re.IGNORECASE,
)


_ARTICLES = frozenset({"the", "a", "an", "our", "my", "your", "its"})


def _terse_product(text: str) -> SlotValue | None:
    value = _product(text)
    if value is None or _TERSE_NOT_A_NAME.search(text) or not any(c.isalpha() for c in text):
        return None
    if text.strip().casefold() in _ARTICLES:
        return None  # "revenue for the past 30 days": "the" is no product
    words = text.split()
    chinese = sum(1 for c in text if "\u3400" <= c <= "\u9fff")
    if len(words) > _TERSE_MAX_WORDS or chinese > _TERSE_MAX_CHARS_ZH:
        return None
    return value


BUILTIN_READERS: dict[str, Callable[[str], SlotValue | None]] = {
    "money": _money,
    "quantity": _quantity,
    "percent": _percent,
    "discount": _discount,
    "order_id": _order_id,
    "tracking": _tracking,
    "carrier_tracking": _upper,
    "code": _upper,
    "sku": _product,
    "terse": _terse_product,
    "title": _title,
    "value": _fact_value,
    "statement": _statement,
    "query": _query,
    "plural": _query,
    "skus": _skus,
    "products": _products,
}


# A period with the preposition people put before it ("over the past week", "in the last 30
# days", "during last month"): the same period, so no template has to spell each preposition.
_PERIOD_LEAD = r"(?:(?:in|over|during|for|within|across) )?"


def phrase_key(text: str, language: str) -> str:
    """Lookup form of a list phrase: case-folded, spaces collapsed (zh: removed)."""
    sep = "" if language == "zh" else " "
    return sep.join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class SlotKinds:
    """The slot kinds of one language: built-ins plus the phrase lists."""

    language: str
    lists: Mapping[str, Mapping[str, str]]

    def pattern(self, kind: str) -> str:
        """Regex source matching one value of ``kind`` (case-insensitive)."""
        if kind in BUILTIN_PATTERNS:
            return BUILTIN_PATTERNS[kind]
        if kind in ("sku", "terse"):
            return f"{SKU_CODE}|{_TITLE[self.language]}"
        if kind in ("title", "value", "statement", "query"):
            return _TITLE[self.language]
        if kind == "plural":
            return _PLURAL
        if kind == "products":
            return _PRODUCTS[self.language]
        phrases = self.lists.get(kind)
        if phrases is None:
            raise KeyError(kind)
        ordered = sorted(phrases, key=len, reverse=True)
        alternatives = "|".join(
            r"\ ?".join(re.escape(w) for w in p.split())
            if self.language == "zh"
            else " ".join(re.escape(w) for w in p.split())
            for p in ordered
        )
        if kind == "period" and self.language == "en":
            return f"{_PERIOD_LEAD}(?:{alternatives})"
        return alternatives

    def read(self, kind: str, text: str) -> SlotValue | None:
        """The typed value of matched ``text``; None rejects the match."""
        reader = BUILTIN_READERS.get(kind)
        if reader is not None:
            return reader(text)
        if kind == "period" and self.language == "en":
            text = re.sub(f"^{_PERIOD_LEAD}", "", text, flags=re.IGNORECASE)
        return self.lists[kind].get(phrase_key(text, self.language))

    def known(self, kind: str) -> bool:
        return kind in BUILTIN_READERS or kind in self.lists
