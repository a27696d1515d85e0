"""Text to typed command: the grammar's fast path, the LLM for the long tail.

The grammar answers in microseconds; only what it does not parse confidently
(confidence below NLU_LLM_THRESHOLD) goes to the LLM, when one is configured.
Whatever the source, the command is validated the same way afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.nlu.dialogue import follow_up_period
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.grammar import Vocabulary, parse, validate_command

# An optional second opinion: (text, the grammar's answer, the merchant's catalog, the dialogue
# context as a line of text) -> (command, source).
LongTail = Callable[[str, cmd.Command, Vocabulary | None, str], Awaitable[tuple[cmd.Command, str]]]


@dataclass(frozen=True)
class Understood:
    command: cmd.Command
    source: str  # "grammar" or "llm"
    confidence: float


class Understander:
    def __init__(self, long_tail: LongTail | None = None, threshold: float = 0.8) -> None:
        self.long_tail = long_tail
        self.threshold = threshold

    async def __call__(self, text: str, vocabulary: Vocabulary | None = None, context: str = "") -> Understood:
        parsed = parse(text, vocabulary)
        if parsed.confidence >= self.threshold or self.long_tail is None:
            return Understood(parsed.command, "grammar", parsed.confidence)
        if follow_up_period(text):
            # "and last month?" names only a period: after a report the dialogue asks it again for
            # that period, with none before it there is nothing to ask. The model guessed a command
            # for it (a list of last month's shipped orders), which would also hide the follow-up.
            return Understood(parsed.command, "grammar", parsed.confidence)
        command, source = await self.long_tail(text, parsed.command, vocabulary, context)
        if validate_command(command, allow_missing=True):  # never let an invalid answer through
            return Understood(parsed.command, "grammar", parsed.confidence)
        return Understood(command, source, parsed.confidence)
