"""Whether a word sequence is a whole phrase of the grammar, and whether it may go on.

The endpointer alone must wait out the caller's stop window (hundreds of ms) because
a pause inside "set the price of a one hundred to ... fifty" looks like the end. When
the decoder's best hypothesis so far is a complete phrase (the grammar's automaton
reaches its final state after the last word), a short pause is enough to close the
utterance. How short depends on what the grammar allows next: after "... to fifty
dollars" nothing (closed), so the speaker is done; after "... to ninety" the price may
go on ("nine", "dollars"; open), so a hesitation there must not end it too soon.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from services.asr.grammar import Grammar

# incomplete: the grammar's final state is not reached; open: it is, and more words may follow;
# closed: it is, and no word may follow.
PhraseStatus = Literal["incomplete", "open", "closed"]
# What an utterance ended at a pause must be: complete (open or closed), or closed.
EarlyEnd = Literal["complete", "closed"]


class PhraseEnds:
    """The grammar as a non-deterministic automaton, asked only "where does this sequence leave it?"."""

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
        self.continued = {state for state, _ in self.on_word}  # states some word leaves from

    def _closure(self, states: set[int]) -> set[int]:
        todo = list(states)
        while todo:
            for nxt in self.empty.get(todo.pop(), ()):
                if nxt not in states:
                    states.add(nxt)
                    todo.append(nxt)
        return states

    def status(self, words: list[str]) -> PhraseStatus:
        """incomplete, open or closed (see PhraseStatus); no words are incomplete."""
        if not words:
            return "incomplete"
        states = self._closure({self.start})
        for word in words:
            states = self._closure({nxt for s in states for nxt in self.on_word.get((s, word), ())})
            if not states:
                return "incomplete"
        if self.final not in states:
            return "incomplete"
        return "open" if states & self.continued else "closed"
