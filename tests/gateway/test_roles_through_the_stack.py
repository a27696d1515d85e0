"""Roles through real processes: the NLU asks the policy before dispatching; results
carry every stage's timing; every command lands in the audit log."""

from __future__ import annotations

from decimal import Decimal

from shopvoice.gateway.v1 import gateway_pb2 as gw
from tests.gateway.conftest import GatewayStack, eventually, say, token

STAGES = ["final_transcript", "parsed", "dispatched", "committed", "delivered"]


def test_owner_and_staff_may_set_prices_with_every_stage_timed(gw_stack: GatewayStack) -> None:
    merchant = gw_stack.merchant()
    for role, price in (("owner", "77"), ("staff", "78")):
        (turn,) = say(gw_stack.stack.gateway, token(merchant, role), f"set the price of A100 to {price}")
        result = turn.result
        assert result is not None and result.status == gw.RESULT_STATUS_OK, turn.messages
        assert [t.stage for t in result.timings] == STAGES
        instants = [t.at_unix_nanos for t in result.timings]
        assert instants == sorted(instants) and instants[-1] - instants[0] < 5e9
        assert gw_stack.price(merchant, "A100") == Decimal(price)


def test_viewer_is_denied_a_mutation_and_nothing_is_dispatched(gw_stack: GatewayStack) -> None:
    merchant = gw_stack.merchant()
    before = gw_stack.price(merchant, "B200")

    (turn,) = say(gw_stack.stack.gateway, token(merchant, "viewer"), "把B200的价格改成1元")

    result = turn.result
    assert result is not None and result.status == gw.RESULT_STATUS_REJECTED
    assert result.grpc_code == "PERMISSION_DENIED"
    # said in the merchant's language, the command as they said it, no intent name (issue 26)
    assert result.message == "只读账号只能查询；“把B200的价格改成1.00”会修改店铺，请找店主", result.message
    assert [t.stage for t in result.timings] == ["final_transcript", "parsed", "delivered"]
    assert gw_stack.price(merchant, "B200") == before
    changes = gw_stack.query("SELECT count(*) FROM catalog.changes WHERE merchant_id = %s AND sku = 'B200'", merchant)
    assert changes == [(0,)]


def test_viewer_may_still_ask(gw_stack: GatewayStack) -> None:
    (turn,) = say(gw_stack.stack.gateway, token(gw_stack.merchant(), "viewer"), "查一下A100")
    assert turn.result is not None and turn.result.grpc_code != "PERMISSION_DENIED"


def test_every_command_is_audited_with_who_what_and_outcome(gw_stack: GatewayStack) -> None:
    merchant = gw_stack.merchant()
    say(gw_stack.stack.gateway, token(merchant, "owner", user="alice"), "set the price of C7 to 250")
    say(gw_stack.stack.gateway, token(merchant, "viewer", user="bob"), "set the price of C7 to 1")

    def rows() -> list[tuple[object, ...]]:
        return gw_stack.query(
            "SELECT user_id, role, heard, understood, ran, status, grpc_code, timings ? 'committed', delivered"
            " FROM gateway.audit_log WHERE merchant_id = %s ORDER BY heard_at",
            merchant,
        )

    eventually(lambda: len(rows()) == 2, what="two audit rows")
    alice, bob = rows()
    assert alice[:3] == ("alice", "owner", "set the price of C7 to 250")
    understood = alice[3]
    assert isinstance(understood, dict)
    assert understood["intent"] == "set_price" and understood["slots"]["sku"] == "C7"
    assert alice[4:] == (True, "RESULT_STATUS_OK", "", True, True)
    assert bob[:3] == ("bob", "viewer", "set the price of C7 to 1")
    assert bob[4:] == (False, "RESULT_STATUS_REJECTED", "PERMISSION_DENIED", False, True)
