"""Mandarin on CPU: whisper-base (the open-vocabulary engine) on eval/spoken/zh_pinyin.jsonl.

    PYTHONPATH=. python -m eval.spoken.zh [--limit 15]

Each line's pinyin is synthesised with `espeak-ng -v cmn-latn-pinyin` (robotic but
intelligible; 1.51's `cmn` voice reads tone digits as English), 16 kHz, then transcribed
by whisper-base with the server's settings (engines/whisper.py: greedy, temperature 0,
48 tokens, primed with the shop's Chinese titles), and the text goes through the NLU's fast
path. Reported: character error rate against the Chinese text, command accuracy, RTF.
For measuring only: the set is not split and nothing is tuned to it (eval/spoken/README.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from eval.score import passes
from eval.spoken.run import ROOT, understand
from services.asr.engines import whisper
from shopvoice.grammar.vocabulary import Vocabulary as NluVocabulary


def synthesise(pinyin: str, workdir: Path) -> bytes:
    wav, raw = workdir / "zh.wav", workdir / "zh.raw"
    subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(wav), pinyin], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(wav), "-r", "16000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw", str(raw)],
        check=True,
        capture_output=True,
    )
    return raw.read_bytes()


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = [c for c in reference if not c.isspace()], [c for c in hypothesis if not c.isspace()]
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[-1]) / max(1, len(ref))


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    lines = [json.loads(x) for x in (ROOT / "eval" / "spoken" / "zh_pinyin.jsonl").read_text().splitlines() if x]
    lines = lines[: args.limit] if args.limit else lines
    shop = yaml.safe_load((ROOT / "shopvoice_cli" / "demo_shop.yaml").read_text())
    products = [(p["sku"], p["title"]) for p in shop["products"]]
    vocabulary = NluVocabulary(products)
    prompt = "店铺语音指令：改价格、库存、订单发货、退款。商品：" + "、".join(f"{t}（{s}）" for s, t in products[:30])
    whisper.load(whisper.open_vocabulary_path(), 2)
    rows, audio_s, decode_s = [], 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for line in lines:
            pcm = synthesise(line["pinyin"], Path(tmp))
            started = time.monotonic()
            text, _ = whisper.transcribe(pcm, "zh-CN", prompt)
            decode_s += time.monotonic() - started
            audio_s += len(pcm) / 32_000
            got = understand(text, vocabulary) if text else {"intent": "none", "slots": {}}
            rows.append({"id": line["id"], "said": line["text_zh"], "heard": text, "cer": cer(line["text_zh"], text)})
            rows[-1]["ok"] = passes(line["expect"], got)
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    summary = {
        "clips": len(rows),
        "cer": round(float(np.mean([r["cer"] for r in rows])), 3),
        "command_accuracy": round(sum(r["ok"] for r in rows) / len(rows), 3),
        "rtf": round(decode_s / audio_s, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
