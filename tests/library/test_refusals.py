"""Which gRPC codes are an answer and which are worth a retry: one set (shopvoice.errors.REFUSALS)."""

from __future__ import annotations

import grpc

from shopvoice.errors import REFUSALS


def test_a_refusal_is_the_same_answer_however_often_asked() -> None:
    # NOT_FOUND included: an unknown SKU or order is an answer for the merchant (the NLU says
    # so, the worker skips the SKU), not an outage to wait out.
    assert grpc.StatusCode.NOT_FOUND in REFUSALS
    assert grpc.StatusCode.INVALID_ARGUMENT in REFUSALS
    assert grpc.StatusCode.FAILED_PRECONDITION in REFUSALS


def test_codes_that_may_go_away_are_not_refusals() -> None:
    for code in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    ):
        assert code not in REFUSALS
