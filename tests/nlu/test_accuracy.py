"""Exact-match accuracy of the fast path on the hand-written utterance set."""

from __future__ import annotations

from collections import Counter, defaultdict

from shopvoice.grammar import command_to_json, parse
from shopvoice.grammar.commands import INTENTS
from shopvoice.text import detect_language

from .corpus import Case, load_cases

MIN_ACCURACY = 0.98


def _confusion_table(rows: list[tuple[Case, dict[str, object]]]) -> str:
    by_intent: dict[str, Counter[str]] = defaultdict(Counter)
    for case, got in rows:
        verdict = "ok" if got == case.expected() else f"-> {got['intent']}"
        if verdict != "ok" and got["intent"] == case.intent:
            verdict = "-> slots"
        by_intent[case.intent][verdict] += 1
    lines = [f"{'intent':<20} {'n':>4} {'ok':>4}  errors"]
    for intent in sorted(by_intent):
        counts = by_intent[intent]
        errors = ", ".join(f"{k} x{v}" for k, v in counts.items() if k != "ok")
        lines.append(f"{intent:<20} {sum(counts.values()):>4} {counts['ok']:>4}  {errors}")
    return "\n".join(lines)


def test_corpus_covers_every_intent_in_both_languages() -> None:
    cases = list(load_cases())
    assert len(cases) >= 600
    seen = {(c.intent, detect_language(c.text)) for c in cases}
    for intent in INTENTS:
        if intent == "unknown":
            continue
        assert (intent, "zh") in seen, intent
        assert (intent, "en") in seen, intent


def test_exact_match_accuracy() -> None:
    rows = [(case, command_to_json(parse(case.text).command)) for case in load_cases()]
    print()
    print(_confusion_table(rows))
    failures = [
        f"line {case.line}: {case.text!r} -> {got} (want {case.expected()})"
        for case, got in rows
        if got != case.expected()
    ]
    accuracy = 1 - len(failures) / len(rows)
    print(f"exact-match accuracy {accuracy:.4f} on {len(rows)} utterances")
    assert accuracy >= MIN_ACCURACY, "\n".join(failures)
