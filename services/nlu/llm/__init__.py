"""The NLU's slow path: a vLLM server (OpenAI-compatible API) with JSON-schema structured output.

Asked only for what the grammar does not parse confidently. Its answer obeys the same
contract as a grammar answer (validate.py) or becomes ``unknown``; when the server is
off, slow, failing or behind an open circuit breaker, the grammar's answer stands.
"""

from services.nlu.llm.convert import CommandJsonError, json_to_command
from services.nlu.llm.parser import LlmAnswer, LlmParser
from services.nlu.llm.schema import command_json_schema
from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.contract import validate

__all__ = [
    "CommandJsonError",
    "LlmAnswer",
    "LlmParser",
    "command_json_schema",
    "command_to_json",
    "json_to_command",
    "validate",
]
