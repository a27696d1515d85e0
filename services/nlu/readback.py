"""Read-back of spoken changes: a change heard by the recogniser is proposed with the heard values
("Heard: B200 to 189.00. Confirm?") unless the recogniser was sure and the change is small.

A typed command is what the merchant wrote; a spoken one is what the recogniser made of
what they said, and a misheard number commits a wrong price as readily as a right one.
So a spoken command that changes data is read back and waits for "yes", except when all
of these hold (then it is acted on at once, as a typed one is):
- the grammar engine gave it (the open-vocabulary engine has no score against the grammar);
- its confidence (services/asr: the grammar path against the phone loop) is at least
  ACT_AT_ONCE_CONFIDENCE;
- the change is small: a stock count moved by at most SMALL_STOCK_DELTA units.
The gateway passes the recogniser's confidence on (Utterance.speech_confidence); the
open-vocabulary engine's is capped at 0.5, so a confidence over that is the grammar's.
Everything else that changes data (prices, statuses, orders, refunds, bulk changes) is
read back whatever the confidence: on the spoken set's dev half no threshold separated
the misheard prices from the right ones (docs/asr.md), and a question costs one "yes".

The NLU calls `spoken_readback` for a turn whose utterance came from speech; the
dialogue policy then proposes the command with this prompt instead of running it.
"""

from __future__ import annotations

from typing import Any

from services.nlu.llm.readback import read_back
from services.nlu.replies import language, render
from shopvoice.grammar.commands import command_to_json
from shopvoice.permissions import INTENTS, READ_ONLY

# On the dev half (rejection off, 128 command + 64 non-command clips), every wrong stock adjustment
# the grammar heard had a confidence under 0.54, and the right ones 0.84-0.94: 0.9 acts on none of the
# wrong ones. A restock of up to 50 units is undone with "undo" if it was wrong after all.
ACT_AT_ONCE_CONFIDENCE = 0.9
SMALL_STOCK_DELTA = 50
# The open-vocabulary engine's confidence is capped at this (services/asr/engines/sphinx.py): above it,
# the grammar engine gave the words.
OPEN_VOCABULARY_MAX_CONFIDENCE = 0.5


def changes_data(intent: str) -> bool:
    """Every intent of the contract but the questions and the dialogue words (shopvoice.permissions,
    the one table of them: an intent new to the contract is denied until listed there). Undo is one:
    it puts back what a change did, and on the dev half a tone heard as "undo" would have reverted
    the merchant's last change at once."""
    return intent in INTENTS and intent not in READ_ONLY


def spoken_decision(command: dict[str, Any], confidence: float, engine: str) -> str:
    """ "act" or "read_back" for a spoken command in the contract's JSON form (command_to_json)."""
    intent = command.get("intent", "")
    if not changes_data(intent):
        return "act"
    slots = command.get("slots", {})
    small = intent == "adjust_stock" and abs(int(slots.get("delta", 0) or 0)) <= SMALL_STOCK_DELTA
    if engine == "grammar" and confidence >= ACT_AT_ONCE_CONFIDENCE and small:
        return "act"
    return "read_back"


def prompt(command: Any, chinese: bool) -> str:
    """What is read back: what was heard, in the merchant's words (the LLM tail's read-back), then the question."""
    return render("heard", language(chinese), text=read_back(command, chinese))


def spoken_readback(command: Any, confidence: float, engine: str, chinese: bool) -> str:
    """The read-back prompt for a spoken command (a shopvoice Command), or "" to act on it at once."""
    as_json = command_to_json(command)
    if spoken_decision(as_json, confidence, engine) == "act":
        return ""
    return prompt(command, chinese)


def is_spoken(utterance: Any) -> bool:
    """An utterance the gateway's listener heard (it stamps the end of its audio), not typed text."""
    return any(t.stage == "audio_end" for t in utterance.timings)


def read_back_instead(utterance: Any, decision: Any, turn_intent: str, chinese: bool, confidence: float = 0.0) -> str:
    """The prompt to propose a spoken change with instead of running it, or "" to run it. A "yes"
    (turn_intent confirm) runs what was read back. `confidence`: the recogniser's, as the gateway
    passes it on (Utterance.speech_confidence)."""
    if decision.kind != "execute" or turn_intent == "confirm" or not is_spoken(utterance):
        return ""
    engine = "grammar" if confidence > OPEN_VOCABULARY_MAX_CONFIDENCE else "open_vocabulary"
    return spoken_readback(decision.command, confidence, engine, chinese)
