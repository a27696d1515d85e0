"""The command grammar: text -> typed command, from sentence templates (zh + en).

One language of commands, read by every part that needs it: the NLU parses with it
(its fast path), the ASR listens for its sentences (`expand_sentences`), the support
service resolves product names with its `Vocabulary`, and `shopvoice parse` runs it
offline. Pure functions over packaged data (sentences/{zh,en}/*.yaml): no I/O.

Public API (stable):

- ``parse(text, vocabulary=None) -> Parse``
- ``command_to_json(cmd) -> {"intent": ..., "slots": {...}}``
- ``expand_sentences(vocabulary, language) -> Iterator[str]`` (ASR grammar input)
- ``validate_command(cmd) -> list[str]`` (contract checks, empty = valid)
- ``Vocabulary`` (catalog titles -> SKUs; build once per catalog)
"""

from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.contract import validate as validate_command
from shopvoice.grammar.expand import expand_sentences
from shopvoice.grammar.parser import Parse, parse
from shopvoice.grammar.vocabulary import Vocabulary

__all__ = [
    "Parse",
    "Vocabulary",
    "command_to_json",
    "expand_sentences",
    "parse",
    "validate_command",
]
