"""Loading the sentence files (sentences/{zh,en}/*.yaml) into compiled templates.

A file holds any of ``lists`` (phrase -> value per list kind), ``expansion_rules``
(name -> template snippet) and ``intents`` (intent -> groups of ``sentences`` with
optional fixed ``slots`` and ``negate``). Files of one language are merged.
Literal text and list phrases go through the same number normalisation as the
utterances, so a template may say 最近七天 and still match 最近7天.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shopvoice.grammar.errors import GrammarError
from shopvoice.grammar.slots import SlotKinds, SlotValue, phrase_key
from shopvoice.grammar.template import (
    Alternative,
    Node,
    RegexBuilder,
    Sequence,
    Slot,
    Text,
    expand_rules,
    parse_template,
    required_fragments,
)
from shopvoice.text.en_numbers import normalize_en_numbers
from shopvoice.text.zh_numbers import normalize_zh_numbers

LANGUAGES = ("zh", "en")


@dataclass(frozen=True, slots=True)
class Template:
    """One compiled sentence template of one intent."""

    intent: str
    source: str
    tree: Sequence
    regex: re.Pattern[str]
    slots: tuple[Slot, ...]
    clauses: tuple[frozenset[str], ...]
    fixed: Mapping[str, SlotValue]
    negate: bool
    order: int


@dataclass(slots=True)
class SentenceFiles:
    """Everything one language's files declare, before compiling."""

    lists: dict[str, dict[str, str]] = field(default_factory=dict)
    spoken_lists: dict[str, list[str]] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def sentences_dir() -> Path:
    """The packaged sentence files."""
    return Path(str(resources.files("shopvoice.grammar").joinpath("sentences")))


def normalize_literal(text: str, language: str) -> str:
    """The numbers in template literals read as the utterances' numbers do."""
    if language == "zh":
        return normalize_zh_numbers(text)
    return normalize_en_numbers(text)


def load_files(language: str, directory: Path | None = None) -> SentenceFiles:
    """Read and merge every YAML file of ``language``."""
    root = (directory or sentences_dir()) / language
    files = SentenceFiles()
    paths = sorted(root.glob("*.yaml"))
    if not paths:
        raise GrammarError(f"no sentence files under {root}")
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise GrammarError(f"{path}: top level must be a mapping")
        for kind, phrases in (data.get("lists") or {}).items():
            merged = files.lists.setdefault(kind, {})
            files.spoken_lists.setdefault(kind, []).extend(str(p) for p in phrases)
            for phrase, value in phrases.items():
                key = phrase_key(normalize_literal(str(phrase), language), language)
                merged[key] = str(value)
        files.rules.update({str(k): str(v) for k, v in (data.get("expansion_rules") or {}).items()})
        for intent, groups in (data.get("intents") or {}).items():
            for group in groups:
                files.groups.append((str(intent), group))
    return files


def _normalize_tree(node: Node, language: str) -> Node:
    if isinstance(node, Text):
        return Text(normalize_literal(node.text, language))
    if isinstance(node, Sequence):
        return Sequence(tuple(_normalize_tree(item, language) for item in node.items))
    if isinstance(node, Alternative):
        options = tuple(_normalize_tree(o, language) for o in node.options)
        return Alternative(tuple(o for o in options if isinstance(o, Sequence)), node.optional)
    return node


def compile_templates(language: str, directory: Path | None = None) -> tuple[list[Template], SlotKinds]:
    """Parse, normalise and compile every template of ``language``."""
    files = load_files(language, directory)
    kinds = SlotKinds(language, files.lists)
    templates: list[Template] = []
    for intent, group in files.groups:
        fixed = {str(k): str(v) for k, v in (group.get("slots") or {}).items()}
        negate = bool(group.get("negate", False))
        for source in group.get("sentences") or []:
            templates.append(_compile_one(intent, str(source), files, kinds, fixed, negate, len(templates)))
    return templates, kinds


def _compile_one(
    intent: str,
    source: str,
    files: SentenceFiles,
    kinds: SlotKinds,
    fixed: Mapping[str, SlotValue],
    negate: bool,
    order: int,
) -> Template:
    tree = _normalize_tree(parse_template(expand_rules(source, files.rules)), kinds.language)
    assert isinstance(tree, Sequence)
    slots: list[Slot] = []

    def pattern(slot: Slot) -> str:
        if not kinds.known(slot.kind):
            raise GrammarError(f"unknown slot kind {{{slot.kind}}} in {source!r}")
        return kinds.pattern(slot.kind)

    source_regex = RegexBuilder(kinds.language, pattern, slots).build(tree)
    try:
        regex = re.compile(source_regex, re.IGNORECASE)
    except re.error as exc:  # pragma: no cover - a bug in the builder, not in data
        raise GrammarError(f"template {source!r} compiles to a bad regex: {exc}") from exc
    return Template(
        intent=intent,
        source=source,
        tree=tree,
        regex=regex,
        slots=tuple(slots),
        clauses=tuple(required_fragments(tree, kinds.language)),
        fixed=fixed,
        negate=negate,
        order=order,
    )


def iter_sources(language: str) -> Iterator[tuple[str, str]]:
    """(intent, expanded template source) pairs, for tools and tests."""
    files = load_files(language)
    for intent, group in files.groups:
        for source in group.get("sentences") or []:
            yield intent, expand_rules(str(source), files.rules)
