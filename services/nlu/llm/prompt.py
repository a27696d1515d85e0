"""The few-shot chat prompt: the intents and their slots, then example sentences with their JSON.

Examples come from the grammar's own sentence templates (shopvoice/grammar/
sentences/<language>/*.yaml): each intent's first
templates are rendered to one plain sentence (first alternative, optionals left out,
slots filled with sample values) and labelled by the grammar's parse(), keeping only
confident parses. So the examples are sentences the grammar understands with the
labels it gives them, and change when the templates do. Intents without such an
example use the built-in pairs below (both languages, from docs/design.md's table).

The prompt's prefix (system text and examples) is the same for every utterance, so
vLLM's prefix cache computes it once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from services.nlu.llm.candidates import Candidate
from services.nlu.llm.convert import json_to_command
from services.nlu.llm.ground import model_text
from services.nlu.llm.slots import INTENTS, enum_names, slot_specs
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.grammar import parse
from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.contract import CARRIERS, validate
from shopvoice.grammar.sentences import sentences_dir


@dataclass(frozen=True, slots=True)
class Example:
    """One utterance and the command it means, as docs/design.md's JSON."""

    text: str
    answer: Mapping[str, Any]
    products: tuple[Candidate, ...] = ()


def _ex(utterance: str, intent: str, /, **slots: Any) -> Example:
    return Example(utterance, {"intent": intent, "slots": slots})


# How products named by title are answered: the candidates line lists what the catalog has
# for the words said (fake products: K9 and K10 are not in any shop of ours).
_SCARVES = (
    Candidate("K9", ("绿色围巾", "Green scarf"), 100.0),
    Candidate("K10", ("灰色围巾", "Gray scarf"), 80.0),
)
PRODUCT_EXAMPLES: tuple[Example, ...] = (
    Example("绿色围巾还剩几条", {"intent": "query_stock", "slots": {"sku": "K9"}}, _SCARVES),
    Example("bump the green scarf to 77", {"intent": "set_price", "slots": {"sku": "K9", "price": "77.00"}}, _SCARVES),
    Example("灰色那条降价15%", {"intent": "adjust_price", "slots": {"sku": "K10", "percent": "-15"}}, _SCARVES),
    Example("we sold 3 gray scarves", {"intent": "adjust_stock", "slots": {"sku": "K10", "delta": -3}}, _SCARVES),
)

BUILTIN_EXAMPLES: tuple[Example, ...] = (
    _ex("把A100的价格改成99元", "set_price", sku="A100", price="99.00"),
    _ex("set the price of A100 to 99", "set_price", sku="A100", price="99.00"),
    _ex("A100打八折", "adjust_price", sku="A100", percent="-20"),
    _ex("lower A100 by 10", "adjust_price", sku="A100", delta="-10.00"),
    _ex("A100库存设为50", "set_stock", sku="A100", quantity=50),
    _ex("set stock of A100 to 50", "set_stock", sku="A100", quantity=50),
    _ex("A100补货20件", "adjust_stock", sku="A100", delta=20),
    _ex("add 20 units of A100", "adjust_stock", sku="A100", delta=20),
    _ex("A100还有多少库存", "query_stock", sku="A100"),
    _ex("how many A100 are in stock", "query_stock", sku="A100"),
    _ex("查一下A100", "query_product", sku="A100"),
    _ex("show product A100", "query_product", sku="A100"),
    _ex("新建商品红色T恤，价格59元，库存100件", "create_product", title="红色T恤", price="59.00", quantity=100),
    _ex(
        "create product red t-shirt priced 59 with 100 in stock",
        "create_product",
        title="red t-shirt",
        price="59.00",
        quantity=100,
    ),
    _ex("下架A100", "set_product_status", sku="A100", status="archived"),
    _ex("list A100", "set_product_status", sku="A100", status="active"),
    _ex("确认订单1234", "confirm_order", order_id="1234"),
    _ex("confirm order 1234", "confirm_order", order_id="1234"),
    _ex("订单1234发货，顺丰单号SF123456", "ship_order", order_id="1234", carrier="SF", tracking_number="SF123456"),
    _ex(
        "ship order 1234 via SF tracking SF123456",
        "ship_order",
        order_id="1234",
        carrier="SF",
        tracking_number="SF123456",
    ),
    _ex("取消订单1234", "cancel_order", order_id="1234"),
    _ex("cancel order 1234", "cancel_order", order_id="1234"),
    _ex("给订单88退30元", "refund_order", order_id="88", amount="30.00"),
    _ex("refund order 88", "refund_order", order_id="88"),
    _ex("订单1234现在什么状态", "query_order", order_id="1234"),
    _ex("what's the status of order 1234", "query_order", order_id="1234"),
    _ex("有多少待发货的订单", "list_orders", status="unfulfilled"),
    _ex("how many orders are waiting to ship", "list_orders", status="unfulfilled"),
    _ex("今天销售额多少", "sales_report", metric="revenue", period="today"),
    _ex("top products this month", "sales_report", metric="top_products", period="this_month"),
    _ex("撤销", "undo"),
    _ex("undo that", "undo"),
    _ex("确认", "confirm"),
    _ex("yes, confirm", "confirm"),
    _ex("算了", "cancel"),
    _ex("no, never mind", "cancel"),
    _ex("今天天气怎么样", "unknown"),
    _ex("play some music", "unknown"),
)

# Sample values for template slots, by slot kind then name; lists (carrier, period...) use their first phrase.
# Values unlike the demo shop's (a model copies an example's values when the input is odd,
# and the grounding check then drops them): K9 is no product of ours, 5150 no order.
_SAMPLES: dict[str, dict[str, str]] = {
    "zh": {
        "money": "77元",
        "quantity": "35",
        "percent": "15%",
        "discount": "85折",
        "order_id": "5150",
        "sku": "K9",
        "tracking": "SF998877",
        "title": "绿色围巾",
        "text": "绿色围巾",
    },
    "en": {
        "money": "77",
        "quantity": "35",
        "percent": "15 percent",
        "discount": "15 percent",
        "order_id": "5150",
        "sku": "K9",
        "tracking": "SF998877",
        "title": "green scarf",
        "text": "green scarf",
    },
}
# Which rendering to try first: the English templates keep articles and objects in
# [optional] parts ("set [the] price"), so saying them reads naturally; the Chinese ones
# keep particles and repeated words there ("[这个][订单](订单|单)[号][是]"), so leaving
# them out does.
_OPTIONALS_FIRST = {"en": True, "zh": False}
_TOKEN = re.compile(r"<(\w+)>|\{(\w+)(?::(\w+))?\}")


def _first_choices(template: str, optionals: bool) -> str:
    """The template with each (a|b) reduced to a and each [a|b] to a (or left out), innermost first."""
    previous = None
    while previous != template:
        previous = template
        template = re.sub(r"\[([^\[\]()|]*)(?:\|[^\[\]()]*)?\]", r"\1" if optionals else "", template)
        template = re.sub(r"\(([^()\[\]|]*)(?:\|[^()\[\]]*)?\)", r"\1", template)
    return template


def render_template(
    template: str,
    language: str,
    rules: Mapping[str, str],
    lists: Mapping[str, Mapping[str, str]],
    optionals: bool = True,
) -> str:
    """One plain sentence for a template: rules expanded, first alternatives, samples in slots.

    With ``optionals`` the first choice of each [optional] part is said too ("how many A100
    are in stock" rather than "how many A100 are").
    """
    for _ in range(5):  # rules may refer to rules
        template = re.sub(r"<(\w+)>", lambda m: f"({rules.get(m[1], '')})", template)
    template = _first_choices(template, optionals)

    def fill(match: re.Match[str]) -> str:
        kind = match[2]
        if lists.get(kind):
            return next(iter(lists[kind]))
        return _SAMPLES[language].get(kind, _SAMPLES[language].get(match[3] or "", "A100"))

    sentence = _TOKEN.sub(fill, template)
    return ("" if language == "zh" else " ").join(sentence.split())


def grammar_examples(per_intent: int = 1) -> list[Example]:
    """Examples from the grammar's templates, labelled by the grammar itself."""
    directory = sentences_dir()
    examples: list[Example] = []
    for lang_dir in sorted(p for p in directory.glob("*") if p.is_dir()):
        language = lang_dir.name if lang_dir.name in _SAMPLES else "en"
        shared = yaml.safe_load((lang_dir / "_lists.yaml").read_text()) if (lang_dir / "_lists.yaml").exists() else {}
        rules = (shared or {}).get("expansion_rules") or {}
        lists = (shared or {}).get("lists") or {}
        for path in sorted(lang_dir.glob("*.yaml")):
            data = yaml.safe_load(path.read_text()) or {}
            for intent, groups in (data.get("intents") or {}).items():
                found = 0
                for template in _templates(groups):
                    if found >= per_intent:
                        break
                    first = _OPTIONALS_FIRST.get(language, False)
                    for optionals in (first, not first):
                        text = render_template(template, language, rules, lists, optionals)
                        command = _confident(parse(text), intent)
                        text = model_text(text)
                        if command is not None:
                            examples.append(Example(text, command_to_json(command)))
                            found += 1
                            break
    return examples


def _confident(result: Any, intent: str) -> Command | None:
    """The grammar's command when it is sure and of the template's intent."""
    command: Command = result.command
    if result.confidence >= 0.99 and command.WhichOneof("intent") == intent and not validate(command):
        return command
    return None


def _templates(groups: Any) -> Iterable[str]:
    for group in groups or []:
        for template in (group or {}).get("sentences") or []:
            yield str(template)


@cache
def examples() -> tuple[Example, ...]:
    """The grammar's examples, and built-in ones for the intents they leave out."""
    try:
        found = grammar_examples()
    except Exception:  # a template file being edited must not take the LLM path down
        found = []
    covered = {e.answer["intent"] for e in found}
    return (*found, *(e for e in BUILTIN_EXAMPLES if e.answer["intent"] not in covered), *PRODUCT_EXAMPLES)


def _intent_line(intent: str) -> str:
    parts: list[str] = []
    for spec in slot_specs(intent):
        mark = "" if spec.required else "?"
        values = f"={'|'.join(enum_names(spec.enum))}" if spec.enum is not None else ""
        if spec.choice is not None and parts and parts[-1].startswith("("):
            parts[-1] = f"{parts[-1][:-1]}|{spec.name})"  # one of a oneof: (percent|delta)
        else:
            parts.append(f"({spec.name})" if spec.choice is not None else f"{spec.name}{mark}{values}")
    return f"- {intent}({', '.join(parts)})"


@cache
def system_prompt() -> str:
    """The fixed rules: the same text for every utterance (the server reuses what it read)."""
    intents = "\n".join(_intent_line(intent) for intent in INTENTS)
    return (
        "You turn one utterance of an e-commerce merchant (Chinese or English) into one typed command, "
        'answering only JSON: {"intent": NAME, "slots": {...}}. Intents and slots (? = optional):\n'
        f"{intents}\n"
        "Rules: put in slots only what the merchant said; leave out an optional slot that was not said. "
        'Money is a string with two decimals ("99.00"). A new price is set_price; a change of price is '
        'adjust_price with "delta" ("-10.00" = 10 lower) or "percent" ("-15" = 15% lower, 降价15% = "-15"). '
        "A new stock count is set_stock; stock added or sold is adjust_stock with a signed delta. "
        "Quantities are integers; order ids are digits. Sales questions: 销量/units sold = units, "
        "销售额/sales/revenue/how much we made = revenue, 多少单/how many orders = orders. "
        "A product is a SKU: one the merchant said, or one from the Products line that the words name. "
        f"Carriers: {', '.join(CARRIERS)}. Anything else is unknown."
    )


def user_turn(text: str, products: Iterable[Candidate] = (), context: str = "") -> str:
    """One utterance as the model sees it: the products its words may name, context, then the text."""
    lines = []
    if products:
        lines.append("Products: " + "; ".join(p.line() for p in products))
    if context:
        lines.append(f"Context: {context}")
    lines.append(f"Said: {text}")
    return "\n".join(lines)


def build_messages(
    text: str,
    shots: Iterable[Example] | None = None,
    products: Iterable[Candidate] = (),
    context: str = "",
) -> list[dict[str, str]]:
    """The chat messages: system and examples (the fixed prefix), then this utterance's turn.

    ``text`` is what the model reads (model_text: normalised); ``products`` and ``context``
    are per request and come last, after everything that is the same for every call.
    """
    messages = [{"role": "system", "content": system_prompt()}]
    for example in examples() if shots is None else shots:
        messages.append({"role": "user", "content": user_turn(example.text, example.products)})
        # compact: the model answers as the examples do, and every space is a token generated
        messages.append(
            {"role": "assistant", "content": json.dumps(example.answer, ensure_ascii=False, separators=(",", ":"))}
        )
    messages.append({"role": "user", "content": user_turn(text, products, context)})
    return messages


def check_examples(items: Iterable[Example]) -> list[str]:
    """Problems with examples (each must convert and validate): the tests keep the built-ins honest."""
    problems = []
    for example in items:
        try:
            command = json_to_command(example.answer)
        except ValueError as exc:
            problems.append(f"{example.text}: {exc}")
            continue
        problems += [f"{example.text}: {p}" for p in validate(command)]
    return problems
