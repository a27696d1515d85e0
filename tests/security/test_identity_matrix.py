"""Every RPC of every internal service, called directly the way a hostile local process would:
without identity, with a forged token, an expired one, one for another merchant, one from a
service the access table does not allow, and one for a role that may not (a viewer changing
prices). All refused before the handler runs: 0 rows changed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from riva.client.proto import riva_asr_pb2

from shopvoice import identity
from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.orders.v1 import orders_pb2
from shopvoice.support.v1 import support_pb2
from shopvoice_cli import demo_shop
from shopvoice_cli.stack import KEY_HOLDERS
from tests.reliability.test_bad_input import row_counts
from tests.support import servers
from tests.support.processes import ServiceProcess

A, B = "shop-a", "shop-b"
SERVICES = {
    "catalog": catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"],
    "orders": orders_pb2.DESCRIPTOR.services_by_name["OrdersService"],
    "support": support_pb2.DESCRIPTOR.services_by_name["SupportService"],
    "support-admin": support_pb2.DESCRIPTOR.services_by_name["SupportAdmin"],
    "asr": riva_asr_pb2.DESCRIPTOR.services_by_name["RivaSpeechRecognition"],
}


@dataclass
class Internal:
    addresses: dict[str, str]  # descriptor key -> address
    keys: dict[str, str]
    database_url: str

    def of(self, service: str) -> identity.Identity:
        return identity.Identity(identity.parse_keys(self.keys[service]))


@pytest.fixture(scope="module")
def internal(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Internal]:
    logs: Path = tmp_path_factory.mktemp("identity")
    keys = identity.keys_for(list(KEY_HOLDERS), "k1")
    with servers.fresh_database(pg_admin_url) as database_url:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "STREAM_PREFIX": f"svid{uuid.uuid4().hex[:8]}",
            "SHOPVOICE_DEV_MODE": "0",
        }
        catalog = ServiceProcess("catalog", {**env, "INTERNAL_KEYS": keys["catalog"]}, logs).start()
        orders = ServiceProcess("orders", {**env, "INTERNAL_KEYS": keys["orders"]}, logs).start()
        both = {**env, "CATALOG_ADDR": catalog.address, "ORDERS_ADDR": orders.address, "VLLM_URL": ""}
        support = ServiceProcess("support", {**both, "INTERNAL_KEYS": keys["support"]}, logs).start()
        asr = ServiceProcess(
            "asr", {**env, "ASR_PHRASES": "builtin", "ASR_DECODE_WORKERS": "1", "INTERNAL_KEYS": keys["asr"]}, logs
        ).start()
        processes = [asr, support, orders, catalog]
        try:
            identity.set_process_identity(identity.Identity(identity.parse_keys(keys["cli"])))
            try:
                demo_shop.seed_catalog(catalog.address, A)
                demo_shop.seed_catalog(catalog.address, B)
                demo_shop.place_order(orders.address, A)
            finally:
                identity.set_process_identity(None)
            yield Internal(
                {
                    "catalog": catalog.address,
                    "orders": orders.address,
                    "support": support.address,
                    "support-admin": support.address,
                    "asr": asr.address,
                },
                keys,
                database_url,
            )
        finally:
            for process in processes:
                process.stop()


def request_for(method: MethodDescriptor, merchant: str) -> Any:
    """The method's request for `merchant`, with the fields a handler would need to act."""
    request = message_factory.GetMessageClass(method.input_type)()
    fields = method.input_type.fields_by_name
    if "merchant_id" in fields:
        request.merchant_id = merchant
    if "mutation" in fields:
        request.mutation.merchant_id = merchant
        request.mutation.idempotency_key = f"matrix-{uuid.uuid4().hex}"
        request.mutation.actor.user_id = "owner-1"
        request.mutation.actor.role = "owner"
    for name, value in (("sku", "A100"), ("order_id", "1"), ("ticket_id", "1"), ("title", "x"), ("text", "hi")):
        if name in fields and fields[name].type == fields[name].TYPE_STRING:
            setattr(request, name, value)
    return request


def call(address: str, method: MethodDescriptor, request: Any, token: str | None) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_class = message_factory.GetMessageClass(method.output_type)
    metadata = [(identity.METADATA_KEY, token)] if token is not None else []
    with grpc.insecure_channel(address) as channel:
        try:
            if method.client_streaming and method.server_streaming:
                stub = channel.stream_stream(path, lambda m: m.SerializeToString(), response_class.FromString)
                for _ in stub(iter([request]), metadata=metadata, timeout=10):
                    pass
            elif method.client_streaming:
                channel.stream_unary(path, lambda m: m.SerializeToString(), response_class.FromString)(
                    iter([request]), metadata=metadata, timeout=10
                )
            elif method.server_streaming:
                stub_us = channel.unary_stream(path, lambda m: m.SerializeToString(), response_class.FromString)
                for _ in stub_us(request, metadata=metadata, timeout=10):
                    pass
            else:
                channel.unary_unary(path, lambda m: m.SerializeToString(), response_class.FromString)(
                    request, metadata=metadata, timeout=10
                )
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


def every_rpc() -> list[tuple[str, MethodDescriptor]]:
    return [(key, method) for key, service in SERVICES.items() for method in service.methods]


def test_the_access_table_names_every_rpc_of_every_internal_service() -> None:
    """A new RPC without a rule is refused to everyone once identity is on: this says which."""
    paths = {f"/{m.containing_service.full_name}/{m.name}" for _, m in every_rpc()}
    assert not paths - set(identity.ACCESS), f"no access rule (shopvoice/identity.py): {paths - set(identity.ACCESS)}"
    services = {f"/{service.full_name}/" for service in SERVICES.values()}
    assert all(path.startswith(tuple(services)) for path in identity.ACCESS)


def test_every_rpc_refuses_every_caller_without_a_valid_identity_for_it(internal: Internal) -> None:
    attacker_keys = identity.keys_for(["nlu"], "k1")  # a key pair that claims to be the NLU's
    forged = identity.Identity(identity.parse_keys(attacker_keys["nlu"]))
    before = row_counts(internal.database_url)
    wrong: list[str] = []
    checked = 0
    for key, method in every_rpc():
        path = f"/{method.containing_service.full_name}/{method.name}"
        rule = identity.ACCESS[path]
        caller = sorted(rule.callers - {"cli"})[0] if rule.callers - {"cli"} else "cli"
        legit = internal.of(caller)
        role = "owner" if "owner" in rule.roles else sorted(rule.roles)[0]
        claims = identity.Claims(caller, A, "user-1", role, "session-1", "cmd-1")
        outsider = sorted(set(KEY_HOLDERS) - rule.callers)[0]
        cases: dict[str, tuple[str | None, grpc.StatusCode]] = {
            "no identity": (None, grpc.StatusCode.UNAUTHENTICATED),
            "garbage": ("not-a-token", grpc.StatusCode.UNAUTHENTICATED),
            "forged": (forged.mint(claims), grpc.StatusCode.UNAUTHENTICATED),
            "expired": (legit.mint(claims, ttl_s=60, now=time.time() - 3600), grpc.StatusCode.UNAUTHENTICATED),
            "too long-lived": (legit.mint(claims, ttl_s=3600), grpc.StatusCode.UNAUTHENTICATED),
            f"service {outsider}": (
                internal.of(outsider).mint(replace(claims, service=outsider)),
                grpc.StatusCode.PERMISSION_DENIED,
            ),
        }
        if "merchant_id" in method.input_type.fields_by_name or "mutation" in method.input_type.fields_by_name:
            cases["another merchant"] = (legit.mint(replace(claims, merchant_id=B)), grpc.StatusCode.PERMISSION_DENIED)
        if "viewer" not in rule.roles:
            cases["role viewer"] = (legit.mint(replace(claims, role="viewer")), grpc.StatusCode.PERMISSION_DENIED)
        for case, (token, expected) in cases.items():
            got = call(internal.addresses[key], method, request_for(method, A), token)
            checked += 1
            if got != expected:
                wrong.append(f"{path} {case}: {got.name}, expected {expected.name}")
    after = row_counts(internal.database_url)
    print(f"\nidentity matrix: {len(every_rpc())} RPCs, {checked} refused calls")
    assert not wrong, "\n".join(wrong)
    assert after == before, "a refused call changed something"
    assert len(every_rpc()) >= 36 and checked >= 7 * 36


def test_the_allowed_caller_reaches_the_handler(internal: Internal) -> None:
    """The matrix is not vacuous: with the right identity every RPC gets past the interceptor
    (its answer is the handler's: OK, NOT_FOUND, INVALID_ARGUMENT..., never an identity refusal)."""
    refused: list[str] = []
    for key, method in every_rpc():
        path = f"/{method.containing_service.full_name}/{method.name}"
        rule = identity.ACCESS[path]
        caller = sorted(rule.callers - {"cli"})[0] if rule.callers - {"cli"} else "cli"
        role = "owner" if "owner" in rule.roles else sorted(rule.roles)[0]
        token = internal.of(caller).mint(identity.Claims(caller, A, "user-1", role))
        got = call(internal.addresses[key], method, request_for(method, A), token)
        if got in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            refused.append(f"{path} as {caller}/{role}: {got.name}")
    assert not refused, "\n".join(refused)


def test_a_body_without_merchant_takes_the_tokens(internal: Internal) -> None:
    """Merchant and role come from the token: a viewer's token cannot become an owner's body."""
    nlu = internal.of("nlu")
    method = SERVICES["catalog"].methods_by_name["GetProduct"]
    request = request_for(method, "")
    token = nlu.mint(identity.Claims("nlu", A, "u", "viewer"))
    assert call(internal.addresses["catalog"], method, request, token) == grpc.StatusCode.OK


def test_the_cli_seeds_through_its_own_identity(internal: Internal) -> None:
    """demo_shop's channels carry the process identity: the CLI's key is enough to seed."""
    identity.set_process_identity(internal.of("cli"))
    try:
        created = demo_shop.seed_catalog(internal.addresses["catalog"], "shop-c")
    finally:
        identity.set_process_identity(None)
    assert created == len(demo_shop.PRODUCTS)
