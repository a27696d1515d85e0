"""The LLM path: a natural answer written from the retrieved facts only, then checked.

The same client and circuit breaker as the NLU's LLM parser (services/nlu/llm):
vLLM's OpenAI-compatible API with a JSON-schema response {"answer": "..."}. The
model sees the question and the facts, nothing else of the shop. Its answer is
sent only if the fact checker finds every number, date, amount and id in it among
the facts or in the question; otherwise (and whenever the model is unavailable,
slow, or the breaker is open) the template answer goes out instead.
"""

from __future__ import annotations

import json
from typing import Any

from services.support import checker
from services.support.facts import Facts
from shopvoice import log
from shopvoice.llm.breaker import CircuitBreaker
from shopvoice.llm.client import LlmUnavailable, VllmClient

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 600}},
    "required": ["answer"],
    "additionalProperties": False,
}

#: Facts that steer the conversation (which products it is about, what is pending), not claims.
INTERNAL = ("about.", "offered.", "pending.")

SYSTEM = (
    "You answer an online shop's customer in {language}. Use ONLY the facts given. "
    "Never state a number, date, price, order id or tracking number that is not in the facts. "
    "If the facts do not answer the question, say a person will reply. Be brief and polite. "
    'Reply as JSON: {{"answer": "..."}}.'
)


class AnswerWriter:
    def __init__(self, client: VllmClient, breaker: CircuitBreaker, deadline_s: float) -> None:
        self.client = client
        self.breaker = breaker
        self.deadline_s = deadline_s

    async def write(self, question: str, facts: Facts, draft: str, language: str) -> str | None:
        """The model's answer if it passes the fact check; None means: send the draft."""
        if not self.breaker.allow():
            return None
        messages = [
            {"role": "system", "content": SYSTEM.format(language="Chinese" if language == "zh" else "English")},
            {
                "role": "user",
                "content": json.dumps(
                    {
                        "question": question,
                        "facts": [{"name": n, "value": v} for n, v in facts.items if v and not n.startswith(INTERNAL)],
                        "draft": draft,
                    },
                    ensure_ascii=False,
                ),
            },
        ]
        try:
            completion = await self.client.complete(messages, SCHEMA, self.deadline_s)
        except LlmUnavailable as exc:
            self.breaker.record_failure()
            log.get().warning("llm unavailable for support answer", reason=exc.reason)
            return None
        self.breaker.record_success()
        try:
            answer = str(json.loads(completion.content)["answer"]).strip()
        except (ValueError, KeyError, TypeError):
            return None
        if not answer or completion.finish_reason == "length":
            return None
        missing = checker.ungrounded(answer, facts.text(), question)
        if missing:
            log.get().info("llm answer refused by the fact check", ungrounded=missing[:5])
            return None
        return answer
