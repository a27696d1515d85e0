"""The grammar alone (no LLM), with product resolution against the demo shop, on an eval set.

    .venv/bin/python scripts/grammar_eval.py eval/merchant/commands.dev.jsonl > .run/commands.dev.grammar.jsonl
    .venv/bin/python -m eval.score eval/merchant/commands.dev.jsonl .run/commands.dev.grammar.jsonl --errors

Prints one JSON object per line of the set, as `shopvoice say --json --dry-run -` does for a
first turn (intent, slots, candidates, source), from `shopvoice.grammar.parse` with the demo
shop's vocabulary (as the NLU calls it) and `shopvoice.resolution` over shopvoice_cli/demo_shop.yaml: the fast path's share of the
figure, measurable offline in a second. Reads only the `text` of each line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from shopvoice.grammar import Vocabulary, command_to_json, parse
from shopvoice.resolution import CatalogProduct, resolve_command

DEMO = Path(__file__).resolve().parents[1] / "shopvoice_cli" / "demo_shop.yaml"


def demo_vocabulary(path: Path = DEMO) -> Vocabulary:
    """The demo shop as the NLU holds a catalog: titles to SKUs, and resolution's details."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    products = []
    for p in data["products"]:
        words = [str(p.get("description", ""))]
        for fact in (p.get("facts") or {}).values():
            words += [str(fact.get("zh", "")), str(fact.get("en", ""))]
        products.append(CatalogProduct(p["sku"], p["title"], p.get("title_en", ""), tuple(words)))
    return Vocabulary([(p.sku, p.title) for p in products], products)


def main(argv: list[str]) -> int:
    vocabulary = demo_vocabulary()
    for raw in Path(argv[0]).read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        parsed = parse(json.loads(raw)["text"], vocabulary)
        resolution = resolve_command(parsed.command, vocabulary.index)
        out = command_to_json(resolution.command)
        if out["intent"] == "unknown":
            out["slots"] = {}
        if resolution.candidates:
            out["candidates"] = list(resolution.candidates)
        out["source"] = "grammar"
        print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
