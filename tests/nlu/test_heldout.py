"""Held-out utterances: how the fast path behaves on phrasings it was not tuned on.

Here an unknown is an acceptable answer (the LLM slow path takes it); a wrong
command is not, unless its confidence sends it to the LLM anyway.
"""

from __future__ import annotations

from shopvoice.grammar import command_to_json, parse

from .corpus import HELDOUT, load_cases

#: Below this the policy does not act on the fast path's answer alone.
TRUSTED_CONFIDENCE = 0.9
MIN_HELDOUT_ACCURACY = 0.65


def test_no_confident_wrong_command_on_unseen_phrasings() -> None:
    cases = list(load_cases(HELDOUT))
    assert len(cases) >= 30
    right = 0
    confidently_wrong = []
    for case in cases:
        result = parse(case.text)
        got = command_to_json(result.command)
        if got == case.expected():
            right += 1
        elif got["intent"] != "unknown" and result.confidence >= TRUSTED_CONFIDENCE:
            confidently_wrong.append(f"{case.text!r} -> {got} ({result.confidence})")
    print(f"\nheld-out exact match {right}/{len(cases)}")
    assert not confidently_wrong, "\n".join(confidently_wrong)
    assert right / len(cases) >= MIN_HELDOUT_ACCURACY
