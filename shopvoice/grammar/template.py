"""Sentence templates: the hassil-like syntax parsed into a small tree.

Syntax: literal text, alternatives ``(a|b)``, optionals ``[x]`` (= ``(x|)``), slot
references ``{kind}`` or ``{kind:field}`` and expansion rules ``<name>``. The tree
compiles to one regular expression per template and to the literal fragments a
text must contain for the template to match (the index key, see index.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from shopvoice.grammar.errors import TemplateError


@dataclass(frozen=True, slots=True)
class Text:
    """Literal words, matched case-insensitively."""

    text: str


@dataclass(frozen=True, slots=True)
class Slot:
    """A value to extract: ``kind`` says how to read it, ``field`` where it goes."""

    kind: str
    field: str


@dataclass(frozen=True, slots=True)
class Sequence:
    """Items one after another."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alternative:
    """One of several sequences; an optional is an alternative with an empty one."""

    options: tuple[Sequence, ...]
    optional: bool = False


Node = Text | Slot | Sequence | Alternative

_RULE = re.compile(r"<([a-z_]+)>")


def expand_rules(template: str, rules: dict[str, str], depth: int = 0) -> str:
    """Substitute ``<name>`` by its rule body (itself a template), recursively."""
    if depth > 10:
        raise TemplateError(f"expansion rules nest too deep in {template!r}")

    def body(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in rules:
            raise TemplateError(f"unknown expansion rule <{name}> in {template!r}")
        return "(" + expand_rules(rules[name], rules, depth + 1) + ")"

    return _RULE.sub(body, template)


def parse_template(template: str) -> Sequence:
    """Parse one template string into a tree; TemplateError on unbalanced brackets."""
    seq, pos = _parse_sequence(template, 0, closers="")
    if pos != len(template):
        raise TemplateError(f"unexpected {template[pos]!r} at {pos} in {template!r}")
    return seq


def _parse_sequence(text: str, pos: int, closers: str) -> tuple[Sequence, int]:
    """Items until one of ``closers`` or '|' (left for the caller)."""
    items: list[Node] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            items.append(Text("".join(literal)))
            literal.clear()

    while pos < len(text):
        ch = text[pos]
        if ch in closers or ch == "|":
            break
        if ch in ")]}":
            raise TemplateError(f"unbalanced {ch!r} at {pos} in {text!r}")
        if ch in "([":
            flush()
            group, pos = _parse_group(text, pos)
            items.append(group)
            continue
        if ch == "{":
            flush()
            end = text.find("}", pos)
            if end < 0:
                raise TemplateError(f"unclosed slot at {pos} in {text!r}")
            kind, _, field = text[pos + 1 : end].partition(":")
            if not kind.strip():
                raise TemplateError(f"empty slot at {pos} in {text!r}")
            items.append(Slot(kind.strip(), (field or kind).strip()))
            pos = end + 1
            continue
        literal.append(ch)
        pos += 1
    flush()
    return Sequence(tuple(items)), pos


def _parse_group(text: str, pos: int) -> tuple[Alternative, int]:
    opener = text[pos]
    closer = ")" if opener == "(" else "]"
    options: list[Sequence] = []
    pos += 1
    while True:
        seq, pos = _parse_sequence(text, pos, closers=closer)
        options.append(seq)
        if pos >= len(text):
            raise TemplateError(f"unclosed {opener!r} in {text!r}")
        if text[pos] == "|":
            pos += 1
            continue
        pos += 1  # the closer
        break
    return Alternative(tuple(options), optional=opener == "["), pos


SlotPattern = Callable[[Slot], str]


@dataclass(slots=True)
class RegexBuilder:
    """Turns a tree into regex source; slots get numbered groups ``s0, s1, ...``.

    English elements are words followed by one space (the text gets a trailing
    space), so optional words need no special whitespace handling; Chinese
    elements are followed by an optional space.
    """

    language: str
    slot_pattern: SlotPattern
    slots: list[Slot]

    @property
    def sep(self) -> str:
        return " " if self.language == "en" else " ?"

    def build(self, node: Node) -> str:
        if isinstance(node, Text):
            return self._text(node.text)
        if isinstance(node, Slot):
            name = f"s{len(self.slots)}"
            self.slots.append(node)
            return f"(?P<{name}>{self.slot_pattern(node)}){self.sep}"
        if isinstance(node, Sequence):
            return "".join(self.build(item) for item in node.items)
        # Longest literal first: "(看|看看){sku}" must not read "看看A100" as 看 + "看A100".
        ordered = sorted(node.options, key=_literal_length, reverse=True)
        parts = [self.build(option) for option in ordered]
        body = "|".join(parts)
        if not node.optional:
            return f"(?:{body})"
        # An optional product-words slot is left empty when the sentence reads without it: in
        # 所有都降价5% the selection is nothing (every product), not the word 都. Greedy, it took
        # 都, its reader refused it and the whole sentence failed (a regex does not retry).
        return f"(?:{body})??" if _free_text_only(node) else f"(?:{body})?"

    def _text(self, text: str) -> str:
        if self.language == "en":
            return "".join(re.escape(word) + " " for word in text.split())
        pieces = [re.escape(chunk) for chunk in text.split()]
        return "".join(piece + " ?" for piece in pieces)


_FREE_TEXT_KINDS = frozenset({"query", "title"})


def _free_text_only(node: Alternative) -> bool:
    """An optional that holds nothing but one free-text slot: ``[{query:query}]``."""
    return all(
        len(option.items) == 1 and isinstance(slot := option.items[0], Slot) and slot.kind in _FREE_TEXT_KINDS
        for option in node.options
    )


def _literal_length(node: Node) -> int:
    """Characters of literal text at the start of a sequence (ordering key)."""
    if isinstance(node, Text):
        return len(node.text.strip())
    if isinstance(node, Sequence) and node.items:
        first = node.items[0]
        return _literal_length(first) + (_literal_length(Sequence(node.items[1:])) if isinstance(first, Text) else 0)
    return 0


def required_fragments(node: Node, language: str) -> list[frozenset[str]]:
    """Clauses of literal fragments: the text must contain one fragment of each.

    A sequence needs all its items' clauses; an alternative needs one fragment of
    each option, so it contributes the union of one clause per option (when every
    option has one); optionals and slots contribute nothing.
    """
    if isinstance(node, Text):
        words = node.text.casefold().split()
        if language == "en":
            return [frozenset({w}) for w in words]
        return [frozenset({w}) for w in words if w]
    if isinstance(node, Slot):
        return []
    if isinstance(node, Sequence):
        clauses: list[frozenset[str]] = []
        for item in node.items:
            clauses.extend(required_fragments(item, language))
        return clauses
    if node.optional:
        return []
    union: set[str] = set()
    for option in node.options:
        option_clauses = required_fragments(option, language)
        if not option_clauses:
            return []
        union |= min(option_clauses, key=clause_cost)
    return [frozenset(union)]


def clause_cost(clause: AbstractSet[str]) -> tuple[int, int]:
    """Smaller is more selective: few fragments, long ones."""
    return (len(clause), -min(len(f) for f in clause))
