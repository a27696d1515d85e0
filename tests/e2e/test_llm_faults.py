"""The LLM server killed, slow, or answering junk: the turn still ends within the deadline, and nothing runs.

The whole stack as processes (gateway, NLU, catalog...), the NLU pointed at a real HTTP
server on loopback that plays the LLM badly on purpose (tests/nlu_llm/fake_server.py: real
sockets, only the model is missing). Each utterance below is one the grammar does not parse
confidently, so it goes to the LLM; the answer must be the grammar's or "not understood",
within the NLU's deadline (VLLM_TIMEOUT_S) plus the stack's own overhead, with the catalog
unchanged. And a valid data-changing answer from the LLM is read back and proposed, never run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.e2e.test_text_command import changes_of, owner_token, price_of
from tests.nlu_llm.fake_server import Behaviour, fake_openai_server
from tests.support import servers

DEADLINE_S = 1.5
SLACK_S = 1.5  # the stack's own work around the LLM call (gateway, Redis, NLU), generous for a loaded machine
# Not a sentence of the grammar's: it goes to the LLM.
ODD = "could you maybe make a100 cost 1 buck or so"


@dataclass
class FakeLlm:
    behaviour: Behaviour
    url: str


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLlm]:
    behaviour = Behaviour()
    with fake_openai_server(behaviour) as url:
        yield FakeLlm(behaviour, url)


@pytest.fixture(scope="module")
def llm_stack(
    pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLlm
) -> Iterator[Stack]:
    with servers.fresh_database(pg_admin_url) as database_url:
        running = make_stack(
            database_url,
            redis_url,
            tmp_path_factory.mktemp("llm-stack"),
            VLLM_URL=fake_llm.url,
            VLLM_MODEL="fake",
            VLLM_TIMEOUT_S=str(DEADLINE_S),
            VLLM_BREAKER_FAILURES="1000",  # every utterance reaches the (failing) server
            VLLM_WARM_S="1",
        )
        running.start()
        demo_shop.seed_catalog(f"127.0.0.1:{running.ports['catalog']}")
        yield running
        running.stop()


def timed_turn(stack: Stack, text: str) -> tuple[Turn, float]:
    async def run() -> Turn:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            return await conversation.say(text)

    started = time.monotonic()
    turn = asyncio.run(run())
    return turn, time.monotonic() - started


def assert_nothing_ran(stack: Stack, turn: Turn, before: tuple[Decimal, int]) -> None:
    understood = turn.understood
    assert understood is not None, turn.messages
    assert understood.source == "grammar", "a failed LLM call must leave the grammar's answer"
    assert (price_of(stack, "A100"), changes_of(stack, "A100")) == before
    final = turn.final
    assert final is not None
    if final.WhichOneof("kind") == "result":
        assert final.result.status != gw.RESULT_STATUS_OK or understood.command.WhichOneof("intent") == "unknown"


def test_invalid_json_gets_the_grammars_answer_and_runs_nothing(llm_stack: Stack, fake_llm: FakeLlm) -> None:
    fake_llm.behaviour.content, fake_llm.behaviour.sleep_s = '{"intent": "set_price", "slots": {"sku"', 0.0
    before = price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")
    asked = len(fake_llm.behaviour.requests)
    turn, took = timed_turn(llm_stack, ODD)
    assert len(fake_llm.behaviour.requests) > asked, "the utterance went to the LLM"
    assert took < DEADLINE_S + SLACK_S
    understood = turn.understood
    assert understood is not None and understood.command.WhichOneof("intent") == "unknown"
    assert (price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")) == before


def test_a_slow_server_costs_the_deadline_and_no_more(llm_stack: Stack, fake_llm: FakeLlm) -> None:
    fake_llm.behaviour.content = '{"intent": "set_price", "slots": {"sku": "A100", "price": "1.00"}}'
    fake_llm.behaviour.sleep_s = 30.0
    before = price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")
    try:
        turn, took = timed_turn(llm_stack, ODD)
    finally:
        fake_llm.behaviour.sleep_s = 0.0
    assert DEADLINE_S * 0.9 < took < DEADLINE_S + SLACK_S, took
    assert_nothing_ran(llm_stack, turn, before)


@pytest.mark.parametrize(
    ("text", "price", "why"),
    [
        ("could you maybe make a100 cost 80 or so", "80.00", "the LLM understood it"),
        (ODD, "1.00", "the LLM understood it, and the price falls 99%"),
    ],
)
def test_a_valid_llm_change_is_read_back_and_proposed_never_run(
    llm_stack: Stack, fake_llm: FakeLlm, text: str, price: str, why: str
) -> None:
    fake_llm.behaviour.content = json.dumps({"intent": "set_price", "slots": {"sku": "A100", "price": price}})
    fake_llm.behaviour.sleep_s = 0.0
    before = price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")
    turn, _ = timed_turn(llm_stack, text)
    assert turn.understood is not None and turn.understood.source == "llm"
    final = turn.final
    assert final is not None and final.WhichOneof("kind") == "confirmation", (why, turn.messages)
    assert "A100" in final.confirmation.prompt and price in final.confirmation.prompt, final.confirmation.prompt
    assert (price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")) == before


def test_chatter_the_model_reads_as_an_answer_is_no_command_unless_a_question_is_open(
    llm_stack: Stack, fake_llm: FakeLlm
) -> None:
    """The model read "cancelled trains again, I'll be late" as cancel and "yes mum, I'll be home"
    as confirm. With nothing asked that is no command; with a proposal open it answers it."""
    fake_llm.behaviour.sleep_s = 0.0
    chatter = "cancelled trains again, I'll be late tomorrow"

    async def run() -> list[Turn]:
        async with Conversation(llm_stack.gateway, owner_token()) as conversation:
            fake_llm.behaviour.content = '{"intent": "cancel", "slots": {}}'
            first = await conversation.say(chatter)
            fake_llm.behaviour.content = json.dumps({"intent": "set_price", "slots": {"sku": "A100", "price": "1.00"}})
            proposed = await conversation.say(ODD)
            fake_llm.behaviour.content = '{"intent": "cancel", "slots": {}}'
            return [first, proposed, await conversation.say("nah, forget about it, leave it as it was")]

    first, proposed, answered = asyncio.run(run())
    assert first.understood is None or first.understood.command.WhichOneof("intent") == "unknown", first.messages
    assert proposed.final is not None and proposed.final.WhichOneof("kind") == "confirmation", proposed.messages
    assert answered.understood is not None and answered.understood.command.WhichOneof("intent") == "cancel"


def test_a_killed_server_gets_the_grammars_answer_within_the_deadline(llm_stack: Stack, fake_llm: FakeLlm) -> None:
    fake_llm.behaviour.drop = True  # each request's connection closes unanswered, as when the server dies
    before = price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")
    try:
        turn, took = timed_turn(llm_stack, ODD)
    finally:
        fake_llm.behaviour.drop = False
    assert took < DEADLINE_S + SLACK_S
    assert_nothing_ran(llm_stack, turn, before)


def test_a_server_that_is_gone_gets_the_grammars_answer_within_the_deadline(
    pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with servers.fresh_database(pg_admin_url) as database_url:
        with fake_openai_server(Behaviour()) as url:
            pass  # started and stopped: its port refuses connections now
        running = make_stack(
            database_url,
            redis_url,
            tmp_path_factory.mktemp("gone"),
            VLLM_URL=url,
            VLLM_MODEL="fake",
            VLLM_TIMEOUT_S=str(DEADLINE_S),
        )
        running.start()
        try:
            demo_shop.seed_catalog(f"127.0.0.1:{running.ports['catalog']}")
            before = price_of(running, "A100"), changes_of(running, "A100")
            turn, took = timed_turn(running, ODD)
            assert took < DEADLINE_S + SLACK_S
            assert_nothing_ran(running, turn, before)
        finally:
            running.stop()


def test_say_json_dry_run_prints_one_parse_json_line_per_text_and_runs_nothing(
    llm_stack: Stack, fake_llm: FakeLlm
) -> None:
    import subprocess
    import sys

    fake_llm.behaviour.content = json.dumps({"intent": "set_price", "slots": {"sku": "A100", "price": "80.00"}})
    fake_llm.behaviour.sleep_s = 0.0
    before = price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "say", "--json", "--dry-run", "--gateway", llm_stack.gateway, "-"],
        input="把A100的价格改成99\ncould you maybe make a100 cost 80 or so\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [
        {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}, "source": "grammar"},
        {"intent": "set_price", "slots": {"sku": "A100", "price": "80.00"}, "source": "llm"},
    ]
    assert (price_of(llm_stack, "A100"), changes_of(llm_stack, "A100")) == before
