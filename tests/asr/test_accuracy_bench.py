"""bench/asr_accuracy.py, the ASR tuning loop, on the engine as it is now (it once rotted on a refactor),
and its --set decoder options reaching the spawned decoding processes."""

from __future__ import annotations

import asyncio
import re

import pytest

from bench import asr_accuracy
from services.asr.engines import sphinx
from services.asr.engines.decoder_pool import DecoderPool
from tests.asr.support import decoding_options

pytestmark = pytest.mark.e2e


def test_the_bench_scores_a_few_spoken_commands(capsys: pytest.CaptureFixture[str]) -> None:
    asr_accuracy.main(["--count", "2", "--workers", "1", "--errors"])
    out = capsys.readouterr().out
    for level in ("clean", "20 dB", "10 dB"):
        assert re.search(rf"^{level} +\d+\.\d% +\d+\.\d%$", out, re.M), out
    assert re.search(r"^RTF per stream \d+\.\d{3} \(decode \d+\.\d{3};", out, re.M), out


def _grammar_decoder_settings(keys: tuple[str, ...]) -> dict[str, object]:
    """Runs in a decoding process: the settings of the grammar decoder a stream would get there."""
    model = sphinx._the_host().model
    decoder = model.take()
    try:
        return {key: decoder.config[key] for key in keys}
    finally:
        model.give(decoder)


def test_decoder_overrides_reach_the_decoding_processes() -> None:
    assert asr_accuracy.overrides_of(["beam=1e-10", "bestpath=true", "wip=0.5"]) == {
        "beam": 1e-10,
        "bestpath": True,
        "wip": 0.5,
    }
    overrides = (("beam", 1e-10), ("wip", 0.5))
    options = decoding_options(decoder_overrides=overrides)

    async def settings_in_the_child() -> dict[str, object]:
        pool = DecoderPool(options, workers=1)
        try:
            pool.wait_ready(60)
            return await pool.call(pool.processes[0], _grammar_decoder_settings, ("beam", "wip", "pbeam"))
        finally:
            await pool.close()

    got = asyncio.run(settings_in_the_child())
    # the overrides, over GRAMMAR_DECODER_OPTIONS (pbeam keeps its tuned value), in a spawned process
    assert got == pytest.approx({"beam": 1e-10, "wip": 0.5, "pbeam": sphinx.GRAMMAR_DECODER_OPTIONS["pbeam"]}, abs=0)
    assert sphinx.GRAMMAR_DECODER_OPTIONS["beam"] != 1e-10  # the defaults themselves are untouched
