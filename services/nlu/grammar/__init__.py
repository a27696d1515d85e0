"""The NLU fast path: text -> typed command, from sentence templates (zh + en).

Public API (stable; the service wires it in):

- ``parse(text, vocabulary=None) -> Parse``
- ``command_to_json(cmd) -> {"intent": ..., "slots": {...}}``
- ``expand_sentences(vocabulary, language) -> Iterator[str]`` (ASR grammar input)
- ``validate_command(cmd) -> list[str]`` (contract checks, empty = valid)
- ``Vocabulary`` (catalog titles -> SKUs; build once per catalog)
"""

from services.nlu.contract import validate as validate_command
from services.nlu.grammar.commands import command_to_json
from services.nlu.grammar.expand import expand_sentences
from services.nlu.grammar.parser import Parse, parse
from services.nlu.grammar.vocabulary import Vocabulary

__all__ = [
    "Parse",
    "Vocabulary",
    "command_to_json",
    "expand_sentences",
    "parse",
    "validate_command",
]
