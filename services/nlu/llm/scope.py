"""What the model's answer acts on, checked against what the merchant said.

Grounding (ground.py) checks each value against the text. Two readings pass that check and are
still wrong in a way that costs money, both measured on blind merchant sets (eval/merchant
probe3): a bulk change where the merchant named one product ("I need the water bottle to go up
by 8 dollars" read as every product up by 8, "knock ten percent off the yoga mats" as a bulk
change of a query), and a refund without its amount or half where the merchant said one
("refund 89 on that order" read as a full refund). ``rescope`` turns the first into the
one-product command (the dialogue resolves the name and asks which if several fit) and refuses
the second as not understood, except a full refund where "half" was said, which is half (the
amount is read back before anything is refunded). A change of one product where the merchant
named several and said each/both/都/各 ("sneakers and backpacks, both 40 in stock") is the
bulk change of those products.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from google.protobuf.message import Message

from services.nlu.llm.candidates import Candidate, ambiguous_name, named_product
from services.nlu.llm.ground import codes_in, numbers_in
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.mentions import list_mention
from shopvoice.grammar.slots import selection_query
from shopvoice.text import detect_language

# Words that make a change reach more than one product: a quantifier, a store-wide phrase, or
# a list said as one (both/each; 都/各 after several names).
_MANY = re.compile(
    r"(?<![a-z])(?:all|every|each|everything|anything|both|whole|entire|prices|storewide|sitewide"
    r"|store-wide|site-wide|across the board)(?![a-z])|所有|全部|全场|全店|全都|每个|每款|每件|每样|都|统一|一律|各",
    re.IGNORECASE,
)
_HALF = re.compile(r"(?<![a-z])half(?![a-z])|一半|对半|半价", re.IGNORECASE)
EVERY_PRODUCT_UNSAID = "a change of every product where the merchant named none of them"
AMOUNT_UNSAID = "a full refund where the merchant said an amount"
FRACTION_UNSAID = "a part refund the merchant did not say"
KIND_DROPPED = "a change of every product where the merchant said a kind of product"
#: Why a grounded answer is refused for its scope (the reason the parser reports after "invalid: ").
REFUSALS = (EVERY_PRODUCT_UNSAID, AMOUNT_UNSAID, FRACTION_UNSAID, KIND_DROPPED)
_ONE_PRODUCT = {
    "bulk_set_price": "set_price",
    "bulk_adjust_price": "adjust_price",
    "bulk_set_stock": "set_stock",
    "bulk_adjust_stock": "adjust_stock",
}


def rescope(command: cmd.Command, said: str, products: Sequence[Candidate] = ()) -> tuple[cmd.Command, str]:
    """The command as the merchant scoped it and "", or the command and why it is refused.
    ``products``: the catalog candidates the model was shown, to tell one name from a list."""
    intent = command.WhichOneof("intent") or ""
    if intent in _ONE_PRODUCT:
        return _one_product(command, intent, said, products)
    if intent == "refund_order":
        refund = command.refund_order
        if refund.HasField("fraction") and not _fraction_said(refund.fraction, said):
            return command, FRACTION_UNSAID
        if not refund.HasField("amount") and not refund.HasField("fraction"):
            if _HALF.search(said):
                # "refund half, they kept one of the two" written as a full refund: half, as said
                # (the dialogue reads the amount back before anything is refunded).
                refund.fraction = "0.5"
                return command, ""
            order = Decimal(refund.order_id) if refund.order_id.isdigit() else None
            if order is not None and [n for n in numbers_in(said) if n != order]:
                return command, AMOUNT_UNSAID
    return command, ""


_BULK_OF = {single: bulk for bulk, single in _ONE_PRODUCT.items()}
_ARTICLE = re.compile(r"^(?:the|our|my|those|these)\s+", re.IGNORECASE)
# Words that give a change to each product of a list said before or after them.
_EACH = re.compile(r"(?<![a-z])(?:each|both|apiece|all of them|them all)(?![a-z])|都|各", re.IGNORECASE)


def listed_products(command: cmd.Command, said: str, vocabulary: Vocabulary, typed: str = "") -> cmd.Command:
    """The bulk change of a list of products the model answered as a change of one of them
    ("sneakers and backpacks, both 40 in stock" read as the sneakers' stock, 帆布包 袜子 都补10个
    as a bulk change of the query "J5"): only where the model's products are among them and the
    words give the change to each (each/both/都/各)."""
    intent = command.WhichOneof("intent") or ""
    if (intent not in _BULK_OF and intent not in _ONE_PRODUCT) or not _EACH.search(said):
        return command
    change = getattr(command, intent)
    language = detect_language(said)
    # ``typed``: the text as typed, where names set apart by spaces are still apart
    listed = list_mention(said, language, vocabulary) or (typed and list_mention(typed, language, vocabulary))
    if not listed:
        return command
    if intent in _BULK_OF:
        chosen = {change.sku}
    elif change.HasField("status"):
        return command
    else:
        chosen = {*change.skus, *([change.query] if change.HasField("query") else [])}
    if not chosen or not chosen <= {*listed.skus, *listed.names}:
        return command
    bulk = cmd.Command()
    target = getattr(bulk, _BULK_OF.get(intent, intent))
    # Each name as one product: its SKU, or the name as said where it fits several (the
    # dialogue asks which, as it does for the grammar's lists).
    target.skus.extend(skus[0] if len(skus) == 1 else _ARTICLE.sub("", name) for name, skus in listed.items)
    _copy_change(change, target)
    return bulk


def selection_said(
    command: cmd.Command, said: str, vocabulary: Vocabulary, products: Sequence[Candidate], typed: str = ""
) -> None:
    """A bulk change the model wrote with no selection, where the words name what it changes: the
    list said ("set the red tshirt and the white tee to 75 each") or the one product said ("raise
    the running shorts price by ten percent", which ``rescope`` then makes a change of that one).
    Left alone where the words say the whole shop or "all" of a kind (``rescope`` reads the kind).
    In place."""
    intent = command.WhichOneof("intent") or ""
    if intent not in _ONE_PRODUCT:
        return
    bulk = getattr(command, intent)
    if bulk.skus or bulk.HasField("query") or bulk.HasField("status") or _WHOLE_SHOP.search(said):
        return
    language = detect_language(said)
    listed = list_mention(said, language, vocabulary) or (typed and list_mention(typed, language, vocabulary))
    if listed:
        bulk.skus.extend(skus[0] if len(skus) == 1 else _ARTICLE.sub("", name) for name, skus in listed.items)
        return
    if not _SELECTION.search(said) and (named := named_product(said, list(products))):
        bulk.skus.append(named)


def _copy_change(source: Message, target: Message) -> None:
    """The change (price, percent or delta, quantity) from a one-product command to its bulk form
    or back: the two messages name those fields alike; what they select (sku, skus, query,
    status) is not copied."""
    for field, value in source.ListFields():
        if field.name in ("sku", "skus", "query", "status"):
            continue
        if field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)


# Names said one after another: "the cap and the socks", 帽子、袜子, "A100 / A101" ("or" is a choice,
# not a list: "the grey or the red hoodie" is one product, asked about).
_LIST_SEPARATOR = re.compile(r"(?<![a-z])(?:and|plus)(?![a-z])|[,，、&/+|]|和|跟|与|及|还有", re.IGNORECASE)


def _one_name(skus: Sequence[str], said: str, products: Sequence[Candidate]) -> str | None:
    """The one name said for the several products the model listed, or None: "add 10 hoodies" is
    a change of one hoodie, which the dialogue asks about, not of both; 红T白T names two."""
    if _LIST_SEPARATOR.search(said) or codes_in(said) & set(skus):
        return None
    return ambiguous_name(said, skus[0], list(products))


# Words that select by kind ("all the hoodies and tees", 所有T恤和卫衣): a list of kinds, not of products.
_SELECTION = re.compile(
    r"(?<![a-z])(?:all|every|everything|anything|whole|entire|storewide|sitewide)(?![a-z])|所有|全部|全场|全店|每",
    re.IGNORECASE,
)


def _listed_names(
    bulk: cmd.BulkSetPrice | cmd.BulkAdjustPrice | cmd.BulkSetStock | cmd.BulkAdjustStock,
    said: str,
    products: Sequence[Candidate] = (),
) -> None:
    """A selection the model wrote as a list of names ("the jeans and the running shorts ten percent
    off both" as the query "jeans and the running shorts"): those products, each resolved (and
    asked about when it is not one product) as the grammar's lists are; SKU codes the model was shown
    stand for themselves. In place."""
    if not bulk.HasField("query") or bulk.skus or _SELECTION.search(said):
        return
    items = [_ARTICLE.sub("", item.strip()) for item in _LIST_SEPARATOR.split(bulk.query)]
    items = [item for item in items if item]
    shown = {c.sku for c in products}  # "socks and caps, add 50 each" written as the query "M3,P6"
    if len(items) >= 2 and all(item.casefold() in said.casefold() or item.upper() in shown for item in items):
        bulk.ClearField("query")
        bulk.skus.extend(items)


def _one_product(
    command: cmd.Command, intent: str, said: str, products: Sequence[Candidate]
) -> tuple[cmd.Command, str]:
    bulk = getattr(command, intent)
    _listed_names(bulk, said, products)
    if _kind_dropped(bulk, said, products):
        kind = said_kind(said, products)
        if not kind:
            return command, KIND_DROPPED
        bulk.query = kind  # "every hoodie goes to 219 for black friday" answered with no query
    one_name = _one_name(bulk.skus, said, products) if len(bulk.skus) >= 2 else None
    if _MANY.search(said) or bulk.HasField("status") or (len(bulk.skus) >= 2 and one_name is None):
        return command, ""
    named = one_name or (bulk.skus[0] if bulk.skus else bulk.query)
    if not named:
        return command, EVERY_PRODUCT_UNSAID
    single = cmd.Command()
    target = getattr(single, _ONE_PRODUCT[intent])
    target.sku = named
    _copy_change(bulk, target)
    return single, ""


# What says the whole shop in so many words; "everything 10% off for black friday" names no
# product even though "black" fits the black backpack.
_WHOLE_SHOP = re.compile(
    r"(?<![a-z])(?:everything|every (?:product|item|sku|listing|single)|all (?:the |our |my )?(?:products|items|skus|listings|stock)"
    r"|whole (?:store|shop|catalog|catalogue|site)|entire (?:store|shop|catalog|catalogue|site)|storewide|sitewide"
    r"|store-wide|site-wide|across the board)(?![a-z])"
    r"|全场|全店|店里|整个店|所有的?(?:商品|产品|东西|货|款|宝贝)|全部的?(?:商品|产品|东西|货|款|宝贝)|每(?:个|一个|件|款|一款|种|样)",
    re.IGNORECASE,
)
KIND_SCORE = 65.0  # a candidate the words fit at least by the kind a title ends with (包 of 双肩包)
_Bulk = cmd.BulkSetPrice | cmd.BulkAdjustPrice | cmd.BulkSetStock | cmd.BulkAdjustStock


def _kind_dropped(bulk: _Bulk, said: str, products: Sequence[Candidate]) -> bool:
    """A change of every product where the merchant said "all" of a kind of product (所有包包一律139
    answered with no query): the whole shop is not what was said."""
    if bulk.HasField("query") or bulk.HasField("status") or bulk.skus or _WHOLE_SHOP.search(said):
        return False
    return any(c.score >= KIND_SCORE for c in products)


# The words after a quantifier (all the t-shirts, every hoodie, 所有包包) or before one (T恤全部, 卫衣都).
_EN_AFTER_ALL = re.compile(
    r"(?<![a-z])(?:all|every|each)\s+(?:of\s+)?(?:the\s+|our\s+|my\s+|those\s+)?([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)",
    re.IGNORECASE,
)
_ZH_AFTER_ALL = re.compile(r"(?:所有|全部|每款|每个|每件|每一款|每一个)的?([\u3400-\u9fffA-Za-z-]+)")
_ZH_BEFORE_ALL = re.compile(r"([\u3400-\u9fffA-Za-z-]+?)(?:全部|全都|都|统一|一律|所有)")


def said_kind(said: str, products: Sequence[Candidate]) -> str:
    """The kind of product said with "all"/"every"/所有 as the contract writes a query ("t-shirt",
    "hoodie", T恤), where it is a word of a title the words fit by kind; "" when none is."""
    titles = [t.casefold() for c in products if c.score >= KIND_SCORE for t in c.titles]
    if not titles:
        return ""
    for found in _EN_AFTER_ALL.finditer(said):
        words = found[1].split()
        for size in (2, 1):  # "running shorts" before "running"; "hoodie goes" fails, "hoodie" fits
            kind = selection_query(" ".join(words[:size])) if len(words) >= size else ""
            if kind and any(re.search(rf"(?<![a-z]){re.escape(kind)}", t) for t in titles):
                return kind
    for found in (*_ZH_AFTER_ALL.finditer(said), *_ZH_BEFORE_ALL.finditer(said)):
        run = found[1]
        after = found.re is _ZH_AFTER_ALL
        # the longest start (after 所有) or end (before 都) of the run that a title holds
        for size in range(len(run), 0, -1):
            part = run[:size] if after else run[-size:]
            if any(part.casefold() in t for t in titles):
                return part
    return ""


def _fraction_said(fraction: str, said: str) -> bool:
    """Half (一半, "half") for 0.5, or the percentage itself ("refund 30%" for 0.3)."""
    if fraction == "0.5" and _HALF.search(said):
        return True
    return Decimal(fraction) * 100 in numbers_in(said)
