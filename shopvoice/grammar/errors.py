"""Domain errors of the grammar package."""


class GrammarError(Exception):
    """The sentence files are wrong; raised at load time, never while parsing."""


class TemplateError(GrammarError):
    """One template string is malformed (unbalanced brackets, unknown rule)."""
