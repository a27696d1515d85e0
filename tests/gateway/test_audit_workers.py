"""With WORKERS > 1 every gateway process writes its own audit records while it runs: each
process keeps the records of its sessions in memory until its writer stores them, so a process
without a writer would hold them until it stops (and lose them to a SIGKILL)."""

from __future__ import annotations

from tests.gateway.conftest import GatewayStack, eventually, say, token

SESSIONS = 10  # separate connections: SO_REUSEPORT spreads them over both processes


def test_every_worker_process_writes_its_audit_records_while_serving(gw_stack: GatewayStack) -> None:
    merchant = gw_stack.merchant()
    replica = gw_stack.gateway(WORKERS="2")
    # D42 costs 159: each price is within the NLU's confirmation threshold, so it runs at once.
    turns = [say(replica.address, token(merchant), f"set the price of D42 to {150 + i}")[0] for i in range(SESSIONS)]
    sent = {turn.utterance_id for turn in turns}
    assert all(turn.result is not None for turn in turns), [t.messages for t in turns]

    def audited() -> set[str]:
        rows = gw_stack.query("SELECT utterance_id FROM gateway.audit_log WHERE merchant_id = %s", merchant)
        return {row[0] for row in rows}

    eventually(lambda: audited() == sent, timeout_s=15, what="an audit row for every turn, with the gateway up")
    assert replica.proc is not None and replica.proc.poll() is None
