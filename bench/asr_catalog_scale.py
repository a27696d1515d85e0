"""The ASR at catalog scale: what a catalog of 10, 1,000 or 10,000 products costs the recogniser.

    PYTHONPATH=. python bench/asr_catalog_scale.py [--catalogs 10,1000,10000] [--names 50] [--workers 2]

For each size, a synthetic shop (tests/support/synthetic_catalog.py: SKUs like "TS1042", titles like "slim
blue denim jacket") and, measured:

- reduce: the catalog to what the grammar hears (grammar.heard_vocabulary: SKU shapes and the
  name class), in the server's own process, on every catalog change;
- build: the phrases expanded and the grammar compiled, in this process (a decoding process does
  the same at its start), with the FSG's size: transitions, words, products it lists by name;
- ready: the ASR engine as the server makes it (SphinxEngine.from_settings: ASR_DECODE_WORKERS
  decoding processes, a decoder for every one of ASR_MAX_STREAMS, the fallback process when whisper
  is installed) from start until every decoding process has built its grammar and decoders;
- RSS: this process (holding the whole catalog, as the server does) plus every child (decoding and
  fallback processes), from /proc, once ready;
- decode: commands naming products of this catalog (a SKU among the grammar's names, one far from
  them, a title in the name class) said by espeak-ng, each decoded whole in a decoding process:
  CPU seconds of the decoding processes per second of audio (RTF), and whether the words came back
  as said.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.asr import grammar, phrases, testset  # noqa: E402
from services.asr.config import AsrSettings  # noqa: E402
from services.asr.engines.sphinx import DICT, GRAMMAR_MODEL  # noqa: E402
from services.asr.engines.sphinx_engine import SphinxEngine  # noqa: E402
from services.asr.numbers import say_sku  # noqa: E402
from services.asr.vocabulary import Vocabulary  # noqa: E402
from tests.support.processes import cpu_seconds, memory_mb, tree_pids  # noqa: E402
from tests.support.synthetic_catalog import products  # noqa: E402

RATE = 16_000


def rss_mb(pid: int) -> tuple[float, float, float]:
    """Resident MB of a process, of all its children together, and the PSS of all of them (shared
    pages counted once, as a container's memory limit counts them)."""
    me, *children = tree_pids(pid)
    return memory_mb(me), sum(memory_mb(c) for c in children), sum(memory_mb(p, "Pss") for p in [me, *children])


def commands(catalog: list[tuple[str, str]], names: int) -> list[str]:
    """What a merchant says about this catalog: a SKU in the name class, one far outside it, a title."""
    inside_sku, inside_title = catalog[0]
    far_sku, _ = catalog[len(catalog) - 1]
    return [
        f"show product {say_sku(inside_sku)}",
        f"set the price of {say_sku(far_sku)} to twenty five dollars",
        f"is the {inside_title} in stock",
    ]


def children_cpu_seconds() -> float:
    """CPU seconds so far of this process's children (the decoding processes)."""
    return sum(cpu_seconds(pid) for pid in tree_pids(os.getpid())[1:])


async def decode(engine: SphinxEngine, audio: bytes) -> tuple[str, float]:
    """One utterance decoded whole in a decoding process: its words and the CPU seconds the decoding
    processes spent (not wall time: on a shared machine that is mostly the others' load)."""
    stream = engine.pool.open(GRAMMAR_MODEL)
    try:
        began = children_cpu_seconds()
        await stream.start(0)
        await stream.feed(audio, False)
        transcript = await stream.end(b"")
        took = children_cpu_seconds() - began
    finally:
        stream.close()
    return (transcript.text if transcript else ""), took


def measure(size: int, names: int, workers: int, clips: Path) -> dict[str, object]:
    catalog = products(size)
    vocabulary = Vocabulary(products=tuple(catalog))
    began = time.perf_counter()
    heard = grammar.heard_vocabulary(vocabulary, names)
    reduce_s = time.perf_counter() - began
    began = time.perf_counter()
    built = grammar.build(phrases.phrases_for(heard, "en-US", use_nlu=True), heard, DICT, names)
    build_s = time.perf_counter() - began
    # the environment's settings, as the server reads them, with --names
    settings = AsrSettings().model_copy(update={"grammar_names": names})
    began = time.perf_counter()
    engine = SphinxEngine.from_settings(settings, vocabulary, workers=workers)
    engine.wait_ready(300)
    ready_s = time.perf_counter() - began
    time.sleep(1.0)  # the fallback process (when whisper is installed) loads meanwhile
    own_mb, children_mb, pss_mb = rss_mb(os.getpid())
    results = []
    for text in commands(catalog, names):
        audio = testset.speak(text, "en-us", 160, 50, clips).tobytes()
        heard_text, took = asyncio.run(decode(engine, audio))
        results.append((text, heard_text, took / (len(audio) / 2 / RATE)))
    asyncio.run(engine.close())
    return {
        "products": size,
        "reduce_ms": 1000 * reduce_s,
        "build_s": build_s,
        "ready_s": ready_s,
        "transitions": len(built.transitions),
        "words": len(built.words),
        "listed": len(heard.products),
        "rss_server_mb": own_mb,
        "rss_children_mb": children_mb,
        "pss_mb": pss_mb,
        "decodes": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalogs", default="10,1000,10000", help="catalog sizes, comma-separated")
    parser.add_argument("--names", type=int, default=grammar.NAMES, help="titles in the grammar (ASR_GRAMMAR_NAMES)")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes (ASR_DECODE_WORKERS)")
    args = parser.parse_args()
    clips = Path(tempfile.mkdtemp(prefix="sv-asr-scale-"))
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)", flush=True)
    print(
        f"{'products':>9} {'reduce ms':>9} {'build s':>8} {'ready s':>8} {'transitions':>11} {'words':>6}"
        f" {'listed':>6} {'RSS server MB':>13} {'RSS children MB':>15} {'RSS total MB':>12} {'PSS total MB':>12}",
        flush=True,
    )
    decodes = []
    for size in (int(s) for s in args.catalogs.split(",")):
        m = measure(size, args.names, args.workers, clips)
        total = float(m["rss_server_mb"]) + float(m["rss_children_mb"])  # type: ignore[arg-type]
        print(
            f"{m['products']:>9} {m['reduce_ms']:>9.1f} {m['build_s']:>8.2f} {m['ready_s']:>8.2f}"
            f" {m['transitions']:>11} {m['words']:>6} {m['listed']:>6} {m['rss_server_mb']:>13.0f}"
            f" {m['rss_children_mb']:>15.0f} {total:>12.0f} {m['pss_mb']:>12.0f}",
            flush=True,
        )
        decodes.append((size, m["decodes"]))
    print("\ndecoded whole in a decoding process (CPU seconds of the decoding processes per second of audio):")
    for size, results in decodes:
        for said, heard, rtf in results:  # type: ignore[attr-defined]
            mark = "ok " if heard == said else "MISS"
            print(f"  {size:>6} {mark} RTF {rtf:.3f}  {said!r}" + ("" if heard == said else f" heard {heard!r}"))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
