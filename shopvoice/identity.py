"""Identity on every internal call: short-lived tokens signed by the calling service, checked
against an access table by the called one.

Each service holds its own Ed25519 private key and every service's public key
(INTERNAL_KEYS, entries `SERVICE:KID:ed25519:SEED` and `SERVICE:KID:ed25519-pub:PUBLIC`).
A call carries `x-shopvoice-identity: <JWT>`: the caller's service name (bound to the key id
that signed it, so the ASR cannot sign as the NLU), and the person it acts for: merchant,
user, role, session, command id. The token lives INTERNAL_TOKEN_TTL_S (default 60 s).

The called service's `ServerIdentity` interceptor (installed by `grpc_server.run` in every
service) refuses a call without a valid token (UNAUTHENTICATED), a caller or role the access
table does not allow for that RPC, or a body whose merchant_id is not the token's
(PERMISSION_DENIED) before the handler runs, so nothing is written. It puts the token's user,
role and command id into the request's `mutation.actor`: handlers read who asked from the body
as before, but the body can no longer lie.

Client side: `channel()` (grpc_server) attaches a token to every call. Who the call acts for is
the identity bound in this context (`acting_as`; a server handler's context holds its caller's
identity, so the support service's calls to the catalog carry the customer's merchant), or else
what the request body says (merchant_id, mutation.actor): the NLU and the worker put the
requester there, and they are the services the table trusts to speak for people.

Rotation: a service signs with the first of its own private keys; every listed public key
verifies. Add the new key (public everywhere, private to its service), then remove the old one
once its tokens are older than the TTL (a minute).

Without INTERNAL_KEYS a service refuses to start unless SHOPVOICE_DEV_MODE=1 (tests and
`shopvoice up`'s own runs without keys): then calls pass without identity, as before.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf.message import Message
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice import refusal

METADATA_KEY = "x-shopvoice-identity"
ISSUER = "shopvoice-internal"
MAX_TTL_S = 300
CLOCK_SKEW_S = 5
SYSTEM = "system"  # the role of work no person asked for (vocabulary loads, periodic jobs)
PERSON_ROLES = frozenset({"owner", "staff", "viewer", "customer"})
ALL_ROLES = PERSON_ROLES | {SYSTEM}
CHANGERS = frozenset({"owner", "staff"})  # who may change a shop


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    internal_keys: str = Field(
        "",
        alias="INTERNAL_KEYS",
        description="this service's private key and every service's public key for internal calls",
    )
    internal_token_ttl_s: int = Field(
        60, alias="INTERNAL_TOKEN_TTL_S", ge=5, le=MAX_TTL_S, description="lifetime of an internal call's token"
    )
    dev_mode: bool = Field(
        False, alias="SHOPVOICE_DEV_MODE", description="development: services start without INTERNAL_KEYS"
    )


@dataclass(frozen=True)
class Claims:
    """Who calls (service) and for whom (merchant, user, role, session, command)."""

    service: str
    merchant_id: str = ""
    user_id: str = ""
    role: str = SYSTEM
    session_id: str = ""
    command_id: str = ""


@dataclass(frozen=True)
class InternalKey:
    service: str
    kid: str  # "service:kid", unique across services
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_keys(spec: str) -> dict[str, InternalKey]:
    """INTERNAL_KEYS: comma-separated `SERVICE:KID:ed25519:SEED` / `SERVICE:KID:ed25519-pub:PUBLIC`."""
    keys: dict[str, InternalKey] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 4 or not parts[0] or not parts[1] or parts[2] not in ("ed25519", "ed25519-pub"):
            raise ValueError("INTERNAL_KEYS entries are SERVICE:KID:ed25519:SEED or SERVICE:KID:ed25519-pub:PUBLIC")
        service, kid, alg, material = parts
        try:
            raw = _b64decode(material)
            if alg == "ed25519":
                private = Ed25519PrivateKey.from_private_bytes(raw)
                key = InternalKey(service, f"{service}:{kid}", private.public_key(), private)
            else:
                key = InternalKey(service, f"{service}:{kid}", Ed25519PublicKey.from_public_bytes(raw), None)
        except ValueError as exc:
            raise ValueError(f"INTERNAL_KEYS: key {service}:{kid} must be 32 bytes, base64url: {exc}") from exc
        if key.kid in keys and keys[key.kid].private is not None and key.private is None:
            continue  # a private entry already gives the public key
        keys[key.kid] = key
    return keys


def new_service_key(service: str, kid: str) -> tuple[str, str]:
    """A fresh pair as INTERNAL_KEYS entries: (private entry for the service, public entry for everyone)."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{service}:{kid}:ed25519:{_b64encode(seed)}", f"{service}:{kid}:ed25519-pub:{_b64encode(public)}"


def keys_for(services: list[str], kid: str) -> dict[str, str]:
    """INTERNAL_KEYS for each of `services`: its own private key and everyone's public keys."""
    pairs = {name: new_service_key(name, kid) for name in services}
    public = ",".join(pub for _, pub in pairs.values())
    return {name: f"{private},{public}" for name, (private, _) in pairs.items()}


# -- the access table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Which calling services may call an RPC, and for which roles."""

    callers: frozenset[str]
    roles: frozenset[str] = ALL_ROLES


def _rules(service: str, callers: set[str], roles: frozenset[str], *methods: str) -> dict[str, Rule]:
    return {f"/{service}/{m}": Rule(frozenset(callers), roles) for m in methods}


_CATALOG = "shopvoice.catalog.v1.CatalogService"
_ORDERS = "shopvoice.orders.v1.OrdersService"
_SUPPORT = "shopvoice.support.v1.SupportService"
_SUPPORT_ADMIN = "shopvoice.support.v1.SupportAdmin"
_ASR = "nvidia.riva.asr.RivaSpeechRecognition"
_PEOPLE_AND_SYSTEM = ALL_ROLES
_MERCHANT_AND_SYSTEM = frozenset({"owner", "staff", "viewer", SYSTEM})

# `cli` is the operator's own tool in `shopvoice up` (seeding the demo shop); a deployment gives
# it no key. The ASR and the support service handle untrusted input: they only read.
ACCESS: dict[str, Rule] = {
    **_rules(_CATALOG, {"nlu", "support", "worker", "asr", "cli"}, _PEOPLE_AND_SYSTEM, "GetVocabulary"),
    **_rules(
        _CATALOG,
        {"nlu", "support", "worker", "cli"},
        _PEOPLE_AND_SYSTEM,
        "GetProduct",
        "ListProducts",
        "SearchProducts",
        "GetStock",
    ),
    **_rules(
        _CATALOG,
        {"nlu", "worker", "cli"},
        CHANGERS,
        "CreateProduct",
        "SetPrice",
        "AdjustPrice",
        "SetStock",
        "AdjustStock",
        "SetProductStatus",
        "UndoLastChange",
    ),
    **_rules(_CATALOG, {"orders", "cli"}, _PEOPLE_AND_SYSTEM, "Reserve", "Release", "CommitReservation"),
    # Guardrails (docs/design.md): owners change the policy, anyone of the shop reads it.
    **_rules(_CATALOG, {"nlu", "worker", "cli"}, _MERCHANT_AND_SYSTEM, "GetGuardrailPolicy"),
    **_rules(_CATALOG, {"nlu", "cli"}, frozenset({"owner"}), "SetGuardrailPolicy"),
    # Product facts: the shop's staff write them, the customer channel reads them.
    **_rules(_CATALOG, {"nlu", "cli"}, CHANGERS, "SetProductFact"),
    **_rules(_CATALOG, {"nlu", "support", "worker", "cli"}, _PEOPLE_AND_SYSTEM, "GetProductFacts"),
    **_rules(_ORDERS, {"asr", "nlu", "support", "worker", "cli"}, _PEOPLE_AND_SYSTEM, "GetOrderVocabulary"),
    **_rules(_ORDERS, {"nlu", "support", "worker", "cli"}, _PEOPLE_AND_SYSTEM, "GetOrder", "ListOrders"),
    **_rules(_ORDERS, {"nlu", "worker", "cli"}, _MERCHANT_AND_SYSTEM, "SalesReport"),
    **_rules(_ORDERS, {"nlu", "worker", "cli"}, CHANGERS, "ConfirmOrder", "ShipOrder", "CancelOrder", "RefundOrder"),
    # Orders come from the shop's storefront (the CLI's seed here); delivery and ratings from carriers.
    **_rules(_ORDERS, {"cli"}, _PEOPLE_AND_SYSTEM, "PlaceOrder", "MarkDelivered", "RateOrder"),
    **_rules(_SUPPORT, {"gateway", "cli"}, frozenset({"customer"}), "AnswerQuestion", "ConversationMessages"),
    **_rules(_SUPPORT_ADMIN, {"nlu", "cli"}, CHANGERS, "SetPolicy", "CloseTicket", "ReplyToTicket"),
    **_rules(
        _SUPPORT_ADMIN,
        {"nlu", "gateway", "cli"},
        frozenset({"owner", "staff", "viewer"}),
        "GetPolicy",
        "ListPolicies",
        "ListTickets",
        "GetTicket",
    ),
    **_rules(
        _ASR,
        {"gateway", "cli"},
        _PEOPLE_AND_SYSTEM,
        "Recognize",
        "StreamingRecognize",
        "GetRivaSpeechRecognitionConfig",
    ),
}
# Answered without an internal token: probes, reflection, and the gateway's public API
# (which checks the caller's own bearer token).
OPEN_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
    "/shopvoice.gateway.v1.Assistant/",
    "/shopvoice.support.v1.CustomerAssistant/",
)


def is_open(method: str) -> bool:
    return method.startswith(OPEN_PREFIXES)


# -- signing and verifying ----------------------------------------------------------------------


class IdentityError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Identity:
    """This process's keys: it signs as the service whose private key it holds, verifies everyone."""

    def __init__(self, keys: dict[str, InternalKey], ttl_s: int = 60) -> None:
        if not 5 <= ttl_s <= MAX_TTL_S:
            raise ValueError(f"internal token lifetime must be 5..{MAX_TTL_S} s")
        self.keys = keys
        self.ttl_s = ttl_s
        own = [k for k in keys.values() if k.private is not None]
        services = {k.service for k in own}
        if len(services) > 1:
            raise ValueError(f"INTERNAL_KEYS holds private keys of several services ({sorted(services)}): one only")
        self.signing = own[0] if own else None
        self.service = own[0].service if own else ""
        self._minted: OrderedDict[Claims, tuple[str, float]] = OrderedDict()
        self._verified: OrderedDict[str, tuple[Claims, float]] = OrderedDict()

    def mint(self, claims: Claims, ttl_s: int | None = None, now: float | None = None) -> str:
        if self.signing is None:
            raise ValueError("INTERNAL_KEYS holds no private key: this process cannot sign internal calls")
        if claims.service != self.service:
            claims = replace(claims, service=self.service)
        now = time.time() if now is None else now
        cached = self._minted.get(claims) if ttl_s is None else None
        if cached is not None and cached[1] - now > self.ttl_s / 2:
            return cached[0]
        lifetime = self.ttl_s if ttl_s is None else ttl_s
        payload = {
            "iss": ISSUER,
            "svc": claims.service,
            "mid": claims.merchant_id,
            "sub": claims.user_id,
            "role": claims.role,
            "sid": claims.session_id,
            "cmd": claims.command_id,
            "iat": int(now),
            "exp": int(now) + lifetime,
        }
        token = jwt.encode(payload, self.signing.private, algorithm="EdDSA", headers={"kid": self.signing.kid})  # type: ignore[arg-type]
        if ttl_s is None:
            self._minted[claims] = (token, now + lifetime)
            if len(self._minted) > 10_000:
                self._minted.popitem(last=False)
        return token

    def verify(self, token: str) -> Claims:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as exc:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, f"internal token is malformed: {exc}") from exc
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, f"internal token signed with unknown key {kid!r}")
        try:
            payload = jwt.decode(
                token,
                key.public,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iat", "iss", "svc"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, "internal token expired") from exc
        except jwt.PyJWTError as exc:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, f"internal token is invalid: {exc}") from exc
        if payload["svc"] != key.service:
            raise IdentityError(
                grpc.StatusCode.UNAUTHENTICATED, f"key {kid} belongs to {key.service}, not {payload['svc']}"
            )
        if int(payload["exp"]) - int(payload["iat"]) > MAX_TTL_S or int(payload["iat"]) > now + CLOCK_SKEW_S:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, "internal token lifetime is over the maximum")
        role = payload.get("role", "")
        if role not in ALL_ROLES:
            raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, f"internal token has an unknown role {role!r}")
        claims = Claims(
            service=str(payload["svc"]),
            merchant_id=str(payload.get("mid", "")),
            user_id=str(payload.get("sub", "")),
            role=role,
            session_id=str(payload.get("sid", "")),
            command_id=str(payload.get("cmd", "")),
        )
        self._verified[token] = (claims, float(payload["exp"]))
        if len(self._verified) > 10_000:
            self._verified.popitem(last=False)
        return claims


# -- the process's identity ---------------------------------------------------------------------

_process: Identity | None = None
_loaded = False
_current: contextvars.ContextVar[Claims | None] = contextvars.ContextVar("shopvoice_identity", default=None)


def load(settings: IdentitySettings | None = None) -> Identity | None:
    """This process's Identity from INTERNAL_KEYS (None without keys, in dev mode only).

    Raises SystemExit with the fix when keys are missing outside dev mode or malformed."""
    settings = settings or IdentitySettings()
    if not settings.internal_keys:
        if not settings.dev_mode:
            raise SystemExit(
                "cannot start: INTERNAL_KEYS is not set (this service's private key and every service's public "
                "key; `shopvoice keys` makes a set). Set SHOPVOICE_DEV_MODE=1 to run without internal identity."
            )
        return None
    try:
        return Identity(parse_keys(settings.internal_keys), settings.internal_token_ttl_s)
    except ValueError as exc:
        raise SystemExit(f"cannot start: {exc}") from None


def process_identity() -> Identity | None:
    """The process's Identity, loaded once from the environment."""
    global _process, _loaded
    if not _loaded:
        _process = load()
        _loaded = True
    return _process


def set_process_identity(identity: Identity | None) -> None:
    """Install an Identity (tests, the CLI); None means none (dev mode)."""
    global _process, _loaded
    _process, _loaded = identity, True


def current() -> Claims | None:
    return _current.get()


@contextlib.contextmanager
def acting_as(claims: Claims) -> Iterator[None]:
    """Calls made inside act for `claims` (merchant, user, role, session, command)."""
    token = _current.set(claims)
    try:
        yield
    finally:
        _current.reset(token)


def _field(message: Message, name: str) -> Any:
    try:
        return getattr(message, name)
    except AttributeError:
        return None


def claims_from_body(service: str, request: Any) -> Claims:
    """For whom a call acts when no identity is bound: what the request says."""
    merchant = _field(request, "merchant_id") if isinstance(request, Message) else None
    mutation = _field(request, "mutation") if isinstance(request, Message) else None
    if mutation is not None and not merchant:
        merchant = mutation.merchant_id
    user, role, command = "", SYSTEM, ""
    if mutation is not None and mutation.actor.role in ALL_ROLES:
        user, role, command = mutation.actor.user_id, mutation.actor.role, mutation.actor.command_id
    customer = _field(request, "customer_id") if isinstance(request, Message) else None
    if customer:
        user, role = customer, "customer"
    return Claims(service, merchant or "", user, role, "", command)


def outgoing_token(identity: Identity, request: Any) -> str:
    bound = current()
    if bound is not None:
        claims = replace(bound, service=identity.service)
        body_merchant = claims_from_body(identity.service, request).merchant_id
        if body_merchant and not claims.merchant_id:
            claims = replace(claims, merchant_id=body_merchant)
    else:
        claims = claims_from_body(identity.service, request)
    return identity.mint(claims)


# -- server side --------------------------------------------------------------------------------


def check_call(identity: Identity, method: str, metadata: Any) -> Claims:
    """The verified claims of a call to `method`, or IdentityError with the status to answer."""
    token = next((v for k, v in metadata or () if k == METADATA_KEY), None)
    if token is None:
        raise IdentityError(grpc.StatusCode.UNAUTHENTICATED, f"{method}: internal calls need an {METADATA_KEY} token")
    claims = identity.verify(token.decode() if isinstance(token, bytes) else token)
    rule = ACCESS.get(method)
    if rule is None:
        raise IdentityError(grpc.StatusCode.PERMISSION_DENIED, f"{method} has no access rule: refused")
    if claims.service not in rule.callers:
        raise IdentityError(grpc.StatusCode.PERMISSION_DENIED, f"{claims.service} may not call {method}")
    if claims.role not in rule.roles:
        raise IdentityError(
            grpc.StatusCode.PERMISSION_DENIED, f"role {claims.role} may not call {method} (needs {sorted(rule.roles)})"
        )
    return claims


def bind_body(claims: Claims, request: Any) -> None:
    """The body's merchant must be the token's; who asked comes from the token. Raises IdentityError."""
    if not isinstance(request, Message):
        return  # a malformed request: the next layer answers INVALID_ARGUMENT
    mutation = _field(request, "mutation")
    for holder in (request, mutation):
        if holder is None or not isinstance(holder, Message):
            continue
        merchant = _field(holder, "merchant_id")
        if merchant is None:
            continue
        if not merchant and claims.merchant_id:
            holder.merchant_id = claims.merchant_id  # type: ignore[attr-defined]
        elif merchant != claims.merchant_id:
            raise IdentityError(
                grpc.StatusCode.PERMISSION_DENIED, "the request's merchant_id is not the caller's merchant"
            )
    if mutation is not None and isinstance(mutation, Message) and claims.role != SYSTEM:
        actor = mutation.actor  # type: ignore[attr-defined]
        actor.role = claims.role
        if claims.user_id:
            actor.user_id = claims.user_id
        if claims.command_id:
            actor.command_id = claims.command_id


def _refusing(handler: grpc.RpcMethodHandler, error: IdentityError) -> grpc.RpcMethodHandler:
    """A handler of the same kind that answers `error` without reading the request."""

    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(error.code, error.message)

    async def refuse_stream(_request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(error.code, error.message)
        yield  # pragma: no cover  (an async generator, as a streaming handler must be)

    # A client-streaming call is ended only once its first message is in (shopvoice/refusal.py).
    async def refuse_requests(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        await refusal.refuse_stream(context, requests, error.code, error.message)

    async def refuse_requests_stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        await refusal.refuse_stream(context, requests, error.code, error.message)
        yield  # pragma: no cover  (an async generator, as a streaming handler must be)

    ignore = lambda _data: None  # noqa: E731  # the body is not read
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(refuse, ignore, handler.response_serializer)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, ignore, handler.response_serializer)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(refuse_requests, ignore, handler.response_serializer)
    return grpc.stream_stream_rpc_method_handler(refuse_requests_stream, ignore, handler.response_serializer)


class ServerIdentity(grpc.aio.ServerInterceptor):
    """Verify the internal token, check the access table and the body's merchant; bind the claims."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or is_open(method):
            return handler
        try:
            claims = check_call(self.identity, method, handler_call_details.invocation_metadata)
        except IdentityError as error:
            return _refusing(handler, error)
        if handler.unary_unary:
            inner: Any = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    bind_body(claims, request)
                except IdentityError as error:
                    await context.abort(error.code, error.message)
                with acting_as(claims):
                    return await inner(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream:
            inner_us: Any = handler.unary_stream

            async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    bind_body(claims, request)
                except IdentityError as error:
                    await context.abort(error.code, error.message)
                with acting_as(claims):
                    replies = inner_us(request, context)
                    try:
                        async for reply in replies:
                            yield reply
                    finally:
                        await replies.aclose()

            return grpc.unary_stream_rpc_method_handler(
                unary_stream, handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_unary:
            inner_su: Any = handler.stream_unary

            async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
                with acting_as(claims):
                    return await inner_su(requests, context)

            return grpc.stream_unary_rpc_method_handler(
                stream_unary, handler.request_deserializer, handler.response_serializer
            )
        inner_ss: Any = handler.stream_stream

        async def stream_stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            with acting_as(claims):
                replies = inner_ss(requests, context)
                try:
                    async for reply in replies:
                        yield reply
                finally:  # the handler's own clean-up runs now, not whenever it is collected
                    await replies.aclose()

        return grpc.stream_stream_rpc_method_handler(
            stream_stream, handler.request_deserializer, handler.response_serializer
        )


# -- client side --------------------------------------------------------------------------------


def _aio_details(details: grpc.aio.ClientCallDetails, metadata: list[tuple[str, str]]) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, grpc.aio.Metadata(*metadata), details.credentials, details.wait_for_ready
    )


class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        token = outgoing_token(self.identity, request)
        return await continuation(_aio_details(client_call_details, _pairs(client_call_details, token)), request)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        token = outgoing_token(self.identity, request)
        return await continuation(_aio_details(client_call_details, _pairs(client_call_details, token)), request)


class _AioStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        token = outgoing_token(self.identity, None)
        return await continuation(
            _aio_details(client_call_details, _pairs(client_call_details, token)), request_iterator
        )


class _AioStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        token = outgoing_token(self.identity, None)
        return await continuation(
            _aio_details(client_call_details, _pairs(client_call_details, token)), request_iterator
        )


def _pairs(details: Any, token: str) -> list[tuple[str, str]]:
    pairs = [(k, v) for k, v in (details.metadata or ()) if k != METADATA_KEY]
    pairs.append((METADATA_KEY, token))
    return pairs


def aio_interceptors(identity: Identity | None) -> list[Any]:
    """Client interceptors that attach this process's token (none without an identity)."""
    if identity is None or identity.signing is None:
        return []
    return [_AioUnaryUnary(identity), _AioUnaryStream(identity), _AioStreamUnary(identity), _AioStreamStream(identity)]


class _SyncInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def _details(self, details: Any, request: Any) -> Any:
        return _SyncDetails(
            details.method,
            details.timeout,
            _pairs(details, outgoing_token(self.identity, request)),
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details, request), request)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details, request), request)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details, None), request_iterator)

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details, None), request_iterator)


@dataclass(frozen=True)
class _SyncDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


def sync_channel(target: str, identity: Identity | None = None) -> grpc.Channel:
    """A blocking channel that attaches this process's token (the CLI's seeding, tests)."""
    if identity is None and _loaded:
        identity = _process
    elif identity is None:  # a CLI command: keys if this environment has them, none otherwise
        settings = IdentitySettings()
        identity = load(settings) if settings.internal_keys else None
    channel = grpc.insecure_channel(target)
    if identity is None or identity.signing is None:
        return channel
    return grpc.intercept_channel(channel, _SyncInterceptor(identity))
