"""The grammar alone (no LLM), with product resolution against the demo shop, on an eval set.

    .venv/bin/python scripts/grammar_eval.py eval/merchant/commands.dev.jsonl > .run/commands.dev.grammar.jsonl
    .venv/bin/python -m eval.score eval/merchant/commands.dev.jsonl .run/commands.dev.grammar.jsonl --errors

Prints one JSON object per line of the set, as `shopvoice say --json --dry-run -` does for a
first turn (intent, slots, candidates, source), from `shopvoice.grammar.parse` and
`shopvoice.resolution` over shopvoice_cli/demo_shop.yaml: the fast path's share of the
figure, measurable offline in a second. Reads only the `text` of each line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from shopvoice.grammar import command_to_json, parse
from shopvoice.resolution import CatalogProduct, ProductIndex, resolve_command

DEMO = Path(__file__).resolve().parents[1] / "shopvoice_cli" / "demo_shop.yaml"


def demo_index(path: Path = DEMO) -> ProductIndex:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    products = []
    for p in data["products"]:
        words = [str(p.get("description", ""))]
        for fact in (p.get("facts") or {}).values():
            words += [str(fact.get("zh", "")), str(fact.get("en", ""))]
        products.append(CatalogProduct(p["sku"], p["title"], p.get("title_en", ""), tuple(words)))
    return ProductIndex(products)


def main(argv: list[str]) -> int:
    index = demo_index()
    for raw in Path(argv[0]).read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        parsed = parse(json.loads(raw)["text"])
        resolution = resolve_command(parsed.command, index)
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
