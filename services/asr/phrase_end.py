"""Whether a word sequence is a whole phrase of the grammar, so the speaker may be done.

The endpointer alone must wait out the caller's stop window (hundreds of ms) because
a pause inside "set the price of a one hundred to ... fifty" looks like the end. When
the decoder's best hypothesis so far is a complete phrase (the grammar's automaton
reaches its final state after the last word), a short pause is enough to close the
utterance: the grammar allows nothing more, or what it allows is optional.
"""

from __future__ import annotations

from collections import defaultdict

from services.asr.grammar import Grammar


class PhraseEnds:
    """The grammar as a non-deterministic automaton, asked only "does this sequence end in final?"."""

    def __init__(self, grammar: Grammar) -> None:
        self.start = grammar.start
        self.final = grammar.final
        self.on_word: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.empty: dict[int, list[int]] = defaultdict(list)
        for t in grammar.transitions:
            if len(t) == 4:
                self.on_word[(t[0], t[3])].append(t[1])
            else:
                self.empty[t[0]].append(t[1])

    def _closure(self, states: set[int]) -> set[int]:
        todo = list(states)
        while todo:
            for nxt in self.empty.get(todo.pop(), ()):
                if nxt not in states:
                    states.add(nxt)
                    todo.append(nxt)
        return states

    def is_complete(self, words: list[str]) -> bool:
        if not words:
            return False
        states = self._closure({self.start})
        for word in words:
            states = self._closure({nxt for s in states for nxt in self.on_word.get((s, word), ())})
            if not states:
                return False
        return self.final in states
