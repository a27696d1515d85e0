"""The fast path: one utterance -> one typed command, with a confidence.

normalise -> match the grammar of the detected language (then the other one:
"set the price of 红色T恤 to 59" is English with a Chinese title) -> read slots,
apply the template's sign, resolve product titles -> build the Command.

Confidence: 1.0 for a full match whose product is a SKU code or a known title;
0.9 for a full match naming a product by a title we could not check (no
vocabulary), 0.75 when a vocabulary was given and does not know the title;
0.4-0.85 for a partial match (a template explains part of the text, by share);
0.85 for a guess the grammar still answers, a change read back before it runs: a command
said in one clause of several ("customer changed their mind, cancel 3344"), or a command word
typed wrong beside a product's title; 0.0 for unknown. The policy sends anything below its
threshold to the LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.grammar import mentions, spelling
from shopvoice.grammar.commands import CommandError, build_command, negate, unknown_command
from shopvoice.grammar.contract import validate as validate_command
from shopvoice.grammar.index import TemplateMatch, grammar_for
from shopvoice.grammar.slots import SKU_CODE_RE, SlotValue, trim_value
from shopvoice.grammar.vocabulary import Vocabulary, VocabularyLike, clean_title
from shopvoice.text import Normalized, detect_language, normalize

_SIGNED_FIELDS = ("delta", "percent")
_PRODUCT_FIELDS = ("sku",)


@dataclass(frozen=True, slots=True)
class Parse:
    """The result of the fast path for one utterance."""

    command: Command
    confidence: float
    language: str
    normalized: str


def _confidence(match: TemplateMatch, unresolved_titles: int, has_vocabulary: bool) -> float:
    if not match.full:
        return round(0.4 + 0.45 * match.coverage, 3)
    if unresolved_titles:
        return 0.75 if has_vocabulary else 0.9
    return 1.0


def _resolve_products(
    values: dict[str, SlotValue], vocabulary: Vocabulary | None
) -> tuple[dict[str, SlotValue], int, bool]:
    """SKU codes upper-case; titles cleaned and, with a vocabulary, resolved. Returns the values,
    how many titles were not resolved, and whether one was found only at the start of a name
    that went on with other words (a guess, read back before it runs)."""
    unresolved = 0
    guessed = False
    for name in _PRODUCT_FIELDS:
        raw = values.get(name)
        if not isinstance(raw, str):
            continue
        spoken = clean_title(raw)
        if SKU_CODE_RE.fullmatch(spoken):
            values[name] = spoken.upper()
            continue
        match = vocabulary.match(spoken) if vocabulary is not None else None
        if match is not None and match.sku is not None:
            values[name] = match.sku
            if vocabulary is not None and _number_beside_title(spoken, match.sku, vocabulary):
                # "price of the wool socks to 55", "inventory on the tote should be one twenty":
                # the name took in a value the template has no slot for, so the command it
                # reads (a question) is not what was said; not sure, as an unknown title is.
                unresolved += 1
        elif (
            vocabulary is not None
            and (match is None or match.outcome == "none")
            and (first := _named_first(spoken, vocabulary))
        ):
            # "zero out the running shorts the whole batch was faulty", 短裤那批有质量问题 库存先清零:
            # the name ran on into the reason said after it
            values[name] = first
            guessed = True
        else:
            # Several products fit: the name is understood and the dialogue asks which one.
            unresolved += 0 if match is not None and match.outcome == "several" else 1
            values[name] = spoken
    items = values.get("skus")
    if vocabulary is not None and isinstance(items, tuple):
        # a list of names read to the end of a clause ("白T卖得好" in 红T和白T卖得好 都涨五块) took in
        # words that name nothing: not sure, so the clause reading can take the list alone
        unresolved += sum(
            1
            for item in items
            if isinstance(item, str)
            and not SKU_CODE_RE.fullmatch(clean_title(item))
            and vocabulary.match(clean_title(item)).outcome == "none"
        )
    if isinstance(values.get("title"), str):
        values["title"] = clean_title(str(values["title"]))
    return values, unresolved, guessed


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# "jeans are selling slow, drop the price 30": the words after the name said the change itself
_CHANGE_VERB = re.compile(
    r"(?<![a-z])(?:drop|cut|raise|lower|reduce|increase|add|remove|take|knock|bump|mark|set|make|put|change"
    r"|price|stock|discount|off)(?![a-z])|降|涨|加|减|改|设|调|打折|价",
    re.IGNORECASE,
)


def _named_first(spoken: str, vocabulary: Vocabulary) -> str | None:
    """The one product a name's first words name, when the rest names none and has no number."""
    language = detect_language(spoken)
    found = mentions.product_mention(spoken, language, vocabulary)
    if found is None or len(found.skus) != 1 or not spoken.lower().startswith(found.phrase.lower()):
        return None
    rest = spoken[len(found.phrase) :]
    if _NUMBER.search(rest) or _CHANGE_VERB.search(rest) or mentions.product_mention(rest, language, vocabulary):
        return None  # a number, a verb of a change or another product after it: more than a reason
    return found.skus[0]


def _number_beside_title(spoken: str, sku: str, vocabulary: Vocabulary) -> bool:
    """Whether the name as said holds a number that none of the product's titles has."""
    numbers = _NUMBER.findall(spoken)
    if not numbers:
        return False
    in_titles = _NUMBER.findall(vocabulary.titles(sku))
    return any(number not in in_titles for number in numbers)


_CARRIER_THEN_NUMBER = re.compile(r"(DHL|UPS|FEDEX|USPS)([0-9A-Z]{6,30})")
_TRAILING_PUNCTUATION = " \t.,;:!?。，；：！？、"


def _as_said(text: str, value: str) -> str:
    """A free-text value (a product fact) as the merchant said it, not normalised: "两年",
    not "2年". The shortest end of the utterance that normalises to the value, else the value."""
    said = text.rstrip(_TRAILING_PUNCTUATION)
    # the value may have been read without what followed it ("two years now": "2 years")
    for ending in dict.fromkeys((said, trim_value(said))):
        for start in range(len(ending) - 1, -1, -1):
            if ending[start].isspace():
                continue
            if normalize(ending[start:]).text == value:
                return ending[start:].strip()
    return value


def parse(text: str, vocabulary: Vocabulary | VocabularyLike | None = None) -> Parse:
    """Parse one utterance (see the module docstring). Never raises on any text."""
    normalized = normalize(text)
    vocab = Vocabulary.of(vocabulary) if vocabulary is not None else None
    result = _parse(text, normalized, vocab)
    if result.confidence < 1.0 or _named_by_title(result, normalized.text):
        # Typed fast, typed wrong ("cancle order 4471", 库村): the corrected text, if it reads better.
        keep = spelling.catalog_words(vocab) if vocab else frozenset()
        fixed = spelling.correct(normalized.text, normalized.language, keep)
        if fixed != normalized.text:
            better = _parse(text, Normalized(text=fixed, language=normalized.language), vocab)
            if better.confidence > result.confidence:
                result = better
            elif better.confidence >= 1.0 and _intent(better) != _intent(result):
                # A product named by its title takes in the words around it (蓝色牛仔裤库寸改成60 found
                # the jeans and read a price): a typo of a command word there changed the command.
                # The corrected reading is the likelier one, and being a guess it is read back.
                result = replace(better, confidence=CLAUSE_CONFIDENCE)
    if result.confidence < CLAUSE_CONFIDENCE and (clause := _one_clause(text, vocab)) is not None:
        return clause
    return result


def _intent(parsed: Parse) -> str:
    return parsed.command.WhichOneof("intent") or ""


def _named_by_title(parsed: Parse, normalized: str) -> bool:
    """A sure parse whose product was named by title, not by its code (which the text holds)."""
    sku = getattr(getattr(parsed.command, _intent(parsed), None), "sku", "")
    return parsed.confidence >= 1.0 and bool(sku) and sku.casefold() not in normalized.casefold()


# Clauses: split at punctuation (a full stop only before a space: 9.99 is a price), and in Chinese
# at a space between two characters (客户不要了 把7745这单取消). 、 stays: it lists codes (A100、F9).
_CLAUSE_BREAK = re.compile(r"[,，;；。!！?？]+|(?<!\d)\.(?=\s)|(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])")
# A "don't" before a verb may be about the command ("不要取消", "don't ship it"); 客户不要了 is not.
# 别 is "don't" only on its own: 别家/别人/别的 are "other", 特别/区别/级别 other words.
_NEGATION = re.compile(
    r"(?:不要|(?<![特区分级类差告识个性])别(?![家人的处样])|不用|不必)(?!了|$)|\b(?:don't|dont|do not|never|not)\b",
    re.IGNORECASE,
)
# A new product announced in one clause (新增商品：帆布渔夫帽，售价八十八): the clause with its
# price is that new product's, never an existing product's new price.
_CREATING = re.compile(
    r"新增|新建|新品|上新|新款|添加商品|加个商品|建个|\b(?:create|new (?:product|item|listing)|add (?:a|an) (?:new )?(?:product|item|listing))\b",
    re.IGNORECASE,
)
#: Full enough for the grammar to answer (over NLU_LLM_THRESHOLD), low enough that a change is
#: read back before it runs (under the dialogue's PARTIAL_CONFIDENCE): words were left out.
CLAUSE_CONFIDENCE = 0.85


def _one_clause(text: str, vocab: Vocabulary | None) -> Parse | None:
    """The command when exactly one clause of the utterance is a whole command (its product or
    order named in it) and no other clause negates anything: "customer changed their mind,
    cancel 3344", "刚才改错了 撤回", "no wait, cancel order 88". Two commands, or none, is no answer."""
    clauses = [c.strip() for c in _CLAUSE_BREAK.split(text) if c.strip()]
    if len(clauses) < 2:
        return None
    said = [normalize(clause) for clause in clauses]  # each clause read once, for every step below
    whole: list[tuple[int, Parse]] = []
    bare: list[tuple[int, Parse]] = []
    for i, clause in enumerate(clauses):
        parsed = _parse(clause, said[i], vocab)
        # "no wait" and "ok" answer a question; beside a command they are only its preamble
        answer = parsed.command.WhichOneof("intent") in ("confirm", "cancel")
        # 退款 alone is a report over a period not said; beside an order named, that order's refund
        report_of_an_order = _periodless_report(parsed) and any(mentions.order_mention(n.text) for n in said)
        # "the thermos cup and the yoga mat, take 5 bucks off each": "each" is the products said
        # before it, not every product of the shop
        each_of_those = (
            _selects_nothing(parsed)
            and bool(_EACH_OF_THOSE.search(said[i].text))
            and any(
                vocab
                and (
                    mentions.list_mention(n.text, n.language, vocab)
                    or mentions.product_mention(n.text, n.language, vocab)
                )
                for j, n in enumerate(said)
                if j != i
            )
        )
        # "order 9915, cancel it, …": an order named alone is what another clause's command is about
        # (found by reference below); only when no other clause is a command is its status asked
        bare_order = _intent(parsed) == "query_order" and bool(_BARE_ORDER.fullmatch(said[i].text.strip()))
        if (
            parsed.confidence >= 0.9
            and not answer
            and not validate_command(parsed.command)
            and not report_of_an_order
            and not each_of_those
        ):
            (bare if bare_order else whole).append((i, parsed))
    if not whole:
        # "the grey hoodie is cheaper elsewhere, so bring it down to 209": the command's clause
        # names its product or order in another clause
        whole = _by_reference(said, vocab)
    if not whole:
        whole = bare
    elif bare and {p.command.query_order.order_id for _, p in bare} != {_order_of(p) for _, p in whole}:
        return None  # "order 12, ship order 13": which order was meant is not guessed
    if (
        len({(_intent(p), p.command.ship_order.order_id) for _, p in whole}) == 1
        and _intent(whole[0][1]) == "ship_order"
    ):
        # "订单4102用圆通发出去，单号YT2201938475": one shipment said over two clauses, merged below
        whole = whole[:1]
    if len(whole) > 1 and all(_intent(p) == "set_guardrail" for _, p in whole):
        # "批量超过20个先问我，改价超过10%也要确认": one setting per clause, one command
        merged = _merged_guardrails([p for _, p in whole])
        whole = [(whole[0][0], merged)] if merged is not None else []
    if len(whole) != 1:
        return None
    chosen, parsed = whole[0]
    if any(_NEGATION.search(clause) for i, clause in enumerate(clauses) if i != chosen):
        return None
    if _intent(parsed) != "create_product" and any(_CREATING.search(clause) for clause in clauses):
        return None
    if _intent(parsed) == "ship_order":
        shipped = _with_shipment_details(parsed, [n.text for i, n in enumerate(said) if i != chosen])
        if shipped is None:
            return None
        parsed = shipped
    if (
        _lists_products(parsed)
        and chosen > 0
        and _continues_a_list(clauses[chosen - 1], vocab)
        and _lists_products(_parse(clauses[chosen], said[chosen], vocab))  # its own list, not "each" of another's
    ):
        # "the red hoodie, grey hoodie and the cap all up 10 bucks": the list starts in the clause
        # before; the command's clause alone would leave the red hoodie out. The list read whole
        # (its items joined as said in one clause) is the command, or there is none.
        joiner = "、" if said[chosen].language == "zh" else " and "
        whole_list = joiner.join(clauses[chosen - 1 : chosen + 1])
        parsed = _parse(whole_list, normalize(whole_list), vocab)
        if parsed.confidence < 0.9 or validate_command(parsed.command) or not _lists_products(parsed):
            return None
    if any(_continues_a_list(clause, vocab) for clause in clauses[chosen + 1 :]):
        # "…, so take 15 dollars off the cap, the shorts and the water bottle": the list goes on
        # past the command's clause, so that clause alone would be a wrong command; the command
        # read to the end of the utterance is the one said, or there is none.
        whole_rest = " ".join(clauses[chosen:])
        parsed = _parse(whole_rest, normalize(whole_rest), vocab)
        if parsed.confidence < 0.9 or validate_command(parsed.command):
            return None
    return replace(parsed, confidence=CLAUSE_CONFIDENCE)


def _periodless_report(parsed: Parse) -> bool:
    """A report with no period: 退款 alone reads as "refunds (over what time?)"; beside a clause that
    names an order (订单1188 客户说尺码不对 退款) it is that order's refund."""
    return _intent(parsed) == "sales_report" and not parsed.command.sales_report.period


_EACH = re.compile(r"各|都|每样|每个|\b(?:each|both|them|all of them|both of them|each of them)\b")
# "each" in a bulk change that names nothing else: the products of another clause ("10% off
# everything" says the whole shop and stays so)
_EACH_OF_THOSE = re.compile(r"各|\b(?:each|both|them)\b")
# the English words that stand for a list said in another clause, replaced by it
_EN_EACH = re.compile(r"\b(?:all of them|both of them|each of them|each|both|them)\b")


def _selects_nothing(parsed: Parse) -> bool:
    """A bulk change with no selection: every product of the shop."""
    intent = _intent(parsed)
    if not intent.startswith("bulk_"):
        return False
    message = getattr(parsed.command, intent)
    return not (message.query or message.status or message.skus)


def _by_reference(said: list[Normalized], vocab: Vocabulary | None) -> list[tuple[int, Parse]]:
    """The clauses (normalised) that are a whole command once the product or order another clause
    names is put in for their reference to it (mentions.py)."""
    orders = [mentions.order_mention(n.text) for n in said]
    products = [mentions.product_mention(n.text, n.language, vocab) if vocab else None for n in said]
    named_lists = [mentions.list_mention(n.text, n.language, vocab) if vocab else None for n in said]
    whole: list[tuple[int, Parse]] = []
    for i, clause in enumerate(said):
        other_orders = {o for j, o in enumerate(orders) if j != i and o}
        other_products = [p for j, p in enumerate(products) if j != i and p]
        rewrites: list[tuple[str, str, str | None]] = []  # (field, what it stands for, the clause rewritten)
        if len(other_orders) == 1 and not orders[i]:
            order_id = other_orders.pop()
            rewrites.append(("order_id", order_id, mentions.with_order(clause.text, clause.language, order_id)))
        if len({p.skus for p in other_products}) == 1 and not products[i]:
            phrase = other_products[0].phrase
            rewrites.append(("sku", phrase, mentions.with_product(clause.text, clause.language, phrase)))
        lists = [m for j, m in enumerate(named_lists) if j != i and m]
        if len(lists) == 1 and not products[i] and _EACH.search(clause.text):
            # 短裤跟帽子都快卖没了，各补二十: the list is named in one clause, the change for each in another
            phrase = lists[0].phrase
            if clause.language == "zh":
                rewrites.append(("skus", phrase, phrase + clause.text))
            elif _EN_EACH.search(clause.text):
                rewrites.append(("skus", phrase, _EN_EACH.sub(phrase, clause.text, count=1)))
        for field, named, text in rewrites:
            if text is None:
                continue
            parsed = _parse(text, normalize(text), vocab)
            message = getattr(parsed.command, _intent(parsed), None)
            if (
                parsed.confidence >= 0.9
                and _intent(parsed) not in ("confirm", "cancel")
                and not validate_command(parsed.command)
                and bool(getattr(message, field, None))
                and (field != "sku" or _names_as_said(text, named))
            ):
                whole.append((i, parsed))
                break
    return whole


def _merged_guardrails(parses: list[Parse]) -> Parse | None:
    """The settings of several clauses as one set_guardrail; None when two clauses set the same one."""
    command = Command()
    command.set_guardrail.SetInParent()
    for parsed in parses:
        for field, value in parsed.command.set_guardrail.ListFields():
            if any(name.name == field.name for name, _ in command.set_guardrail.ListFields()):
                return None
            setattr(command.set_guardrail, field.name, value)
    return replace(parses[0], command=command)


def _names_a_product(said: str, vocab: Vocabulary | None) -> bool:
    """Whether a product named alone ("red tee $75", 短裤89) is a SKU code or every word of it is in
    a title: "运动短裤便宜个" (+ 十块钱) or "red" (+ "one") is no product, so no new price."""
    spoken = clean_title(said)
    if SKU_CODE_RE.fullmatch(spoken):
        return True
    return vocab is not None and vocab.index.resolve_title(spoken).outcome != "none"


def _names_as_said(text: str, phrase: str) -> bool:
    """Whether the product the grammar reads in ``text`` is ``phrase`` itself, not ``phrase`` with
    words of the clause stuck to it (白色运动鞋加回 + 库存 is no stock question about the sneakers)."""
    said = _parse(text, normalize(text), None)
    sku = getattr(getattr(said.command, _intent(said), None), "sku", "")
    # the phrase as the grammar reads it (我们运动鞋 is read 运动鞋: 我们 is a preamble)
    as_read = normalize(phrase).text or phrase
    return isinstance(sku, str) and clean_title(sku).casefold() == clean_title(as_read).casefold()


def _with_shipment_details(parsed: Parse, others: list[str]) -> Parse | None:
    """A shipment with the carrier and tracking number said in the other clauses (normalised: 货已经
    交给EMS了，订单2468发货，单号1151234567890); None when they name a different carrier than the command."""
    command = Command()
    command.CopyFrom(parsed.command)
    ship = command.ship_order
    for text in others:
        tracking = mentions.tracking_mention(text)
        if tracking and not ship.tracking_number:
            ship.tracking_number = tracking
        carrier = mentions.carrier_mention(text)
        if carrier and ship.carrier and carrier != ship.carrier:
            return None
        if carrier:
            ship.carrier = carrier
    if validate_command(command):
        return None
    return replace(parsed, command=command)


# An order named and nothing else: "order 9915", 订单8009, "#5890".
_BARE_ORDER = re.compile(r"(?:the\s+)?(?:order|订单|单号|单)?\s*(?:number|no|#)?\s*#?\d+", re.IGNORECASE)
# A clause that goes on with a list ("and the socks", "the shorts and the water bottle"); a
# reason after a command ("cancel 3344, the customer changed their mind") is none.
_LIST_SHAPED = re.compile(r"^(?:and|&|plus)\b|\band the\b", re.IGNORECASE)


def _order_of(parsed: Parse) -> str:
    """The order a command is about, "" for none."""
    message = getattr(parsed.command, _intent(parsed), None)
    order_id = getattr(message, "order_id", "")
    return order_id if isinstance(order_id, str) else ""


def _lists_products(parsed: Parse) -> bool:
    """A bulk change of a list of products said (not of a kind, a status or the whole shop)."""
    intent = _intent(parsed)
    return intent.startswith("bulk_") and bool(getattr(parsed.command, intent).skus)


def _continues_a_list(clause: str, vocab: Vocabulary | None) -> bool:
    """A clause after the command that names products: "the shorts and the water bottle"."""
    if _LIST_SHAPED.search(clause.strip()):
        return True
    return vocab is not None and vocab.match(normalize(clause).text).outcome != "none"


def _parse(text: str, normalized: Normalized, vocab: Vocabulary | None) -> Parse:
    other = "en" if normalized.language == "zh" else "zh"
    for language in (normalized.language, other):
        match = grammar_for(language).match(normalized.text) if normalized.text else None
        if match is None:
            continue
        # A selection's query that names every product (所有商品) is no query at all; a slot
        # whose field starts with "_" was said but is no part of the command ("instead of 69").
        values = {name: value for name, value in match.values.items() if value != "" and not name.startswith("_")}
        if match.template.negate:
            for name in _SIGNED_FIELDS:
                if name in values:
                    values[name] = negate(values[name])
        if isinstance(joined := values.get("carrier_tracking"), str):
            # "DHL1234567890": carrier DHL, tracking number 1234567890 (never dropped).
            found = _CARRIER_THEN_NUMBER.fullmatch(joined)
            del values["carrier_tracking"]
            if found:
                values["carrier"], values["tracking_number"] = found.group(1), found.group(2)
        if isinstance(values.get("value"), str):
            values["value"] = trim_value(_as_said(text, str(values["value"])))
        intent = match.template.intent
        plural = next((s.field for s in match.template.slots if s.kind == "plural"), None)
        if intent == "list_products" and plural in values and vocab is not None:
            # "show me the earbuds": a plural that names one product is that product; one that
            # names several ("show me the hoodies") lists them.
            named = vocab.match(str(values[plural]))
            if named.sku is not None:
                intent, values = "query_product", {"sku": named.sku}
        if any(slot.kind == "terse" for slot in match.template.slots) and not _names_a_product(
            str(values.get("sku", "")), vocab
        ):
            continue
        values, unresolved, guessed = _resolve_products(values, vocab)
        try:
            command = build_command(intent, values)
        except CommandError:
            continue
        if validate_command(command, allow_missing=True):
            # A template matched but a slot breaks the contract (e.g. "0A" read as a
            # SKU): the fast path answers only with commands that validate.
            continue
        return Parse(
            command=command,
            confidence=min(_confidence(match, unresolved, vocab is not None), CLAUSE_CONFIDENCE if guessed else 1.0),
            language=normalized.language,
            normalized=normalized.text,
        )
    return Parse(
        command=unknown_command(text),
        confidence=0.0,
        language=normalized.language,
        normalized=normalized.text,
    )
