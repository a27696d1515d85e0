"""`shopvoice loadtest --mode voice` against real catalog, ASR, NLU and gateway processes."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from services.asr.numbers import say_number
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice_cli import demo_shop, loadtest, loadvoice, main
from shopvoice_cli.loadreport import VOICE_LEGS
from shopvoice_cli.microphone import LiveMicrophone, speech_length
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.support import servers

# One clear voice: the test is about the load tester, not about accents.
VOICE_OPTIONS = ["--mode", "voice", "--voices", "en-us", "--quiet"]


@pytest.fixture(scope="module")
def voice_stack(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with servers.fresh_database(pg_admin_url) as database_url, servers.stream_namespace(redis_url) as prefix:
        stack = make_stack(
            database_url,
            redis_url,
            tmp_path_factory.mktemp("voice-stack"),
            STREAM_PREFIX=prefix,
            ASR_VOCABULARY_MERCHANT_ID=demo_shop.MERCHANT_ID,
        )
        # The ASR reads the merchant's vocabulary when it starts: the products come first.
        stack.services = ["catalog", "asr", "nlu", "gateway"]
        stack.start(after_catalog=demo_shop.seed_catalog)
        try:
            yield stack
        finally:
            stack.stop()


def loadtest_args(*argv: str) -> argparse.Namespace:
    args: argparse.Namespace = main.build_parser().parse_args(["loadtest", *argv])
    return args


def on_hand(stack: Stack, sku: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['catalog']}") as channel:
        variant = catalog_pb2_grpc.CatalogServiceStub(channel).GetStock(
            catalog_pb2.GetStockRequest(merchant_id=demo_shop.MERCHANT_ID, sku=sku), timeout=10
        )
    quantity: int = variant.inventory.on_hand
    return quantity


def test_spoken_turns_run_through_the_stack_and_report_every_stage(voice_stack: Stack) -> None:
    args = loadtest_args("--gateway", voice_stack.gateway, "-c", "2", "-n", "4", "--clips", "4", *VOICE_OPTIONS)
    workload = loadtest.workload_from(args)
    assert isinstance(workload, loadvoice.SpokenCommands)
    # Clip 3 adds units of A100: its effect on the catalog shows the results are real.
    added = next(n for n in range(1, 41) if workload.clips[3].text == f"add {say_number(n)} units of a one hundred")
    before = on_hand(voice_stack, "A100")

    report = asyncio.run(loadtest.Runner(loadtest.plan_from(args), workload, progress=False).run())

    assert report.error_count == 0, report.errors
    assert [s.status for s in report.samples] == ["OK"] * 4
    assert report.transcripts() == {"spoken": 4, "heard_as_said": 4, "misheard": {}}
    for sample in report.samples:
        # Measured from the end of speech, so well under the clip's own length plus the reply.
        assert 0 < sample.latency_s < args.timeout
        assert sample.received_ns - sample.sent_ns == pytest.approx(sample.latency_s * 1e9)
    legs = report.legs()
    assert list(legs) == [name for name, _start, _end in VOICE_LEGS]
    assert all(leg["count"] == 4 for leg in legs.values())
    # The ASR has to hear a stretch of silence before it calls the utterance over.
    assert legs[VOICE_LEGS[0][0]]["p50_ms"] > 100
    assert on_hand(voice_stack, "A100") == before + added


def test_the_command_prints_json_and_writes_the_png(
    voice_stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "voice.png"
    args = loadtest_args(
        "--gateway", voice_stack.gateway, "-c", "2", "-n", "2", "--clips", "2", "-O", "json", "--png", str(png)
    )
    args.mode, args.voices, args.quiet = "voice", "en-us", True

    assert loadtest.run_command(args) == 0

    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2 and out["status_code_distribution"] == {"OK": 2}
    assert out["latency"] == "end of speech → result"
    assert out["transcripts"]["spoken"] == 2
    assert set(out["stages"]) == {name for name, _start, _end in VOICE_LEGS}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def price(stack: Stack, sku: str) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['catalog']}") as channel:
        product = catalog_pb2_grpc.CatalogServiceStub(channel).GetProduct(
            catalog_pb2.GetProductRequest(merchant_id=demo_shop.MERCHANT_ID, sku=sku), timeout=10
        )
    [variant] = [v for v in product.variants if v.sku == sku]
    return f"{variant.price.units}.{variant.price.nanos // 10_000_000:02d}"


def test_typed_turns_commit_price_changes_that_leave_prices_where_they_were(voice_stack: Stack) -> None:
    skus = ("A100", "B200")
    before = {sku: price(voice_stack, sku) for sku in skus}
    # 8 turns over 2 SKUs: each SKU gets 5% up, 4.76% down, up, down.
    args = loadtest_args("--gateway", voice_stack.gateway, "-c", "1", "-n", "8", "--skus", ",".join(skus), "--quiet")
    workload = loadtest.workload_from(args)

    report = asyncio.run(loadtest.Runner(loadtest.plan_from(args), workload, progress=False).run())

    assert report.error_count == 0, report.errors
    # Every turn is a committed write, not a confirmation prompt.
    assert [s.status for s in report.samples] == ["OK"] * 8
    after = {sku: price(voice_stack, sku) for sku in skus}
    for sku in skus:  # back within a cent or two of where they were (rounding to the cent)
        assert abs(float(after[sku]) - float(before[sku])) <= 0.05, (sku, before[sku], after[sku])


def test_the_asr_alone_peer_measures_the_same_clips(voice_stack: Stack) -> None:
    clips = loadvoice.synthesise([p.sku for p in demo_shop.PRODUCTS], 2, ["en-us"])
    report = asyncio.run(
        loadvoice.asr_alone(f"127.0.0.1:{voice_stack.ports['asr']}", clips, 2, duration_s=2.0, skip_first=0)
    )
    assert report.error_count == 0, report.errors
    assert len(report.samples) >= 2
    assert {s.status for s in report.samples} == {"FINAL"}
    assert all(0.1 < s.latency_s < 10 for s in report.samples)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--clips", "0"], "--clips must be at least 1"),
        (["--chunk-ms", "5"], "--chunk-ms must be 20-1000 ms"),
        (["--voices", "xx-nonesuch"], "espeak-ng could not speak with voice 'xx-nonesuch'"),
        (["--voices", " , "], "--voices names no voice"),
        (["-c", "0"], "-c/--concurrency must be at least 1"),
        (["-z", "soon"], "-z/--duration 'soon' is not a duration"),
        (["--skus", ","], "--skus names no SKU"),
    ],
)
def test_bad_options_are_refused_with_a_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens at this address: a refusal must come before any connection.
    args = loadtest_args("--gateway", "127.0.0.1:9", "--mode", "voice", "--quiet", *argv)
    assert loadtest.run_command(args) == 2
    assert message in capsys.readouterr().err


def test_the_microphone_keeps_real_time_and_sends_silence_until_answered() -> None:
    tone = (b"\x10\x27\xf0\xd8" * 3000)[: 2 * 5600]  # 0.35 s of a loud square wave at 16 kHz
    microphone = LiveMicrophone(tone + bytes(16_000), chunk_ms=100)  # then 0.5 s of recorded silence
    assert speech_length(tone + bytes(16_000)) == len(tone)
    assert microphone.chunks_of_speech == 4  # the recorded silence is dropped, the last chunk padded

    async def listen() -> tuple[list[bytes], float]:
        stop, got = asyncio.Event(), []
        started = time.perf_counter()
        async for chunk in microphone.chunks(stop):
            got.append(chunk)
            if len(got) == 6:
                stop.set()  # the answer came during the second chunk of live silence
        return got, time.perf_counter() - started

    chunks, elapsed = asyncio.run(listen())
    assert len(chunks) == 6 and all(len(c) == 3200 for c in chunks)
    assert chunks[4] == chunks[5] == bytes(3200)
    assert elapsed >= 0.6  # never faster than the audio itself
    assert microphone.silence_chunks == 2 and microphone.speech_end_ns > 0
