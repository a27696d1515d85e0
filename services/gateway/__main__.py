"""`python -m services.gateway`: the public Assistant API, and the customers' CustomerAssistant."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.gateway import customer_channel
from services.gateway.alerts import AlertFeed
from services.gateway.audit import AuditLog
from services.gateway.config import DEFAULT_PORT, GatewaySettings
from services.gateway.ratelimit import Rate, RateLimiter
from services.gateway.replies import ReplyRouter
from services.gateway.server import AssistantServicer
from services.gateway.slots import SessionSlots
from services.gateway.speech import SpeechRecognizer
from shopvoice import db, grpc_server, log, streams
from shopvoice.auth import DEV_AUTH_KEYS, TokenVerifier, parse_keys, weak_keys
from shopvoice.config import load
from shopvoice.gateway.v1 import gateway_pb2, gateway_pb2_grpc

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "gateway"


@dataclass
class Gateway:
    """The process's parts. Pool, channels and servicer are made in `start`: grpc.aio and
    psycopg objects belong to the event loop that runs the server."""

    settings: GatewaySettings
    redis: aioredis.Redis = field(init=False)
    verifier: TokenVerifier = field(init=False)
    router: ReplyRouter = field(init=False)
    alerts: AlertFeed = field(init=False)
    pool: db.Pool = field(init=False)
    audit: AuditLog = field(init=False)
    servicer: AssistantServicer = field(init=False)
    asr: grpc.aio.Channel | None = None  # no ASR_ADDR: text only
    support: grpc.aio.Channel | None = None  # no SUPPORT_ADDR: no customer channel
    routing: asyncio.Task[None] | None = None
    alerting: asyncio.Task[None] | None = None
    auditing: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        s = self.settings
        # Sized from the session limit (one connection per session's call in flight, plus the reply
        # router, the audit and slack); a call waits up to REDIS_POOL_TIMEOUT_S for one instead of failing.
        self.redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                s.redis_url,
                max_connections=s.redis_pool_max or s.max_sessions_per_process + 16,
                timeout=s.redis_pool_timeout_s,
            )
        )
        keys = parse_keys(s.auth_keys)  # bad AUTH_KEYS fail the start
        if not s.dev_mode and (problems := weak_keys(s.auth_keys)):
            raise SystemExit(
                f"cannot start: {'; '.join(problems)}. Set AUTH_KEYS from a secret (32+ random bytes, or "
                "`shopvoice token --new-ed25519-key KID`), or SHOPVOICE_DEV_MODE=1 for development"
            )
        self.verifier = TokenVerifier(keys, s.auth_max_token_ttl_s)
        self.router = ReplyRouter(self.redis, self.settings.stream_prefix)
        self.alerts = AlertFeed(self.redis, self.settings.stream_prefix)

    @property
    def grpc_services(self) -> list[str]:
        names = [gateway_pb2.DESCRIPTOR.services_by_name["Assistant"].full_name]
        return [*names, customer_channel.SERVICE_NAME] if self.settings.support_addr else names

    async def start(self) -> None:
        s = self.settings
        if s.auth_keys == DEV_AUTH_KEYS:
            log.get().warning("AUTH_KEYS is the development key: set it from a secret before exposing this gateway")
        self.pool = await db.prepare(s.database_url, SCHEMA, MIGRATIONS, s.db_pool_min, s.db_pool_max)
        self.audit = AuditLog(self.pool)
        recognizer = None
        if s.asr_addr:
            self.asr = grpc_server.channel(s.asr_addr)
            recognizer = SpeechRecognizer(self.asr, s.session_max_s, s.asr_model)
        if s.support_addr:
            self.support = grpc_server.channel(s.support_addr)
        limiter = RateLimiter(
            self.redis,
            s.stream_prefix,
            merchant=Rate(s.rate_merchant_per_s, s.rate_merchant_burst),
            user=Rate(s.rate_user_per_s, s.rate_user_burst),
        )
        slots = SessionSlots(
            self.redis,
            s.stream_prefix,
            s.max_sessions_per_merchant,
            s.session_lease_s,
            max_per_user=s.max_sessions_per_user,
            owner_reserved=s.owner_reserved_sessions,
        )
        self.servicer = AssistantServicer(
            self.redis, self.verifier, s, limiter, slots, self.audit, self.router, self.alerts, recognizer
        )
        # Not a `background` job: those stop before the server drains, and sessions that
        # are draining still need their replies routed. It stops in `stop`, after them.
        self.routing = asyncio.create_task(self.router.run())
        # Also in every process of WORKERS (background jobs run in the first only): each
        # process's sessions get their alerts from its own reader.
        self.alerting = asyncio.create_task(self.alerts.run())
        # The audit writer too: each process holds its sessions' records in memory until its
        # writer stores them, and it stops only after the sessions drained (stop flushes the rest).
        self.auditing = asyncio.create_task(grpc_server.supervised(self.audit.run, log.get().bind(component="audit")))

    def register(self, server: grpc.aio.Server) -> None:
        gateway_pb2_grpc.add_AssistantServicer_to_server(self.servicer, server)
        if self.support is not None:
            customer_channel.register(server, self.verifier, self.support, self.settings.rpc_timeout_s)

    async def stop(self) -> None:
        await self.servicer.wait_drained()
        for task in (self.routing, self.alerting, self.auditing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        try:
            await self.audit.flush()
        finally:
            await self.pool.close()
            await streams.close(self.redis)
            for channel in (self.asr, self.support):
                if channel is not None:
                    await channel.close(None)


def build(settings: GatewaySettings) -> grpc_server.Service:
    gateway = Gateway(settings)
    return grpc_server.Service(
        name="gateway",
        default_port=DEFAULT_PORT,
        grpc_services=gateway.grpc_services,
        register=gateway.register,
        on_start=gateway.start,
        on_stop=gateway.stop,
        # A bad frame on Converse is answered in the stream (INVALID_ARGUMENT) and the session goes on.
        reflection=settings.reflection,
        frames_to_handler=frozenset({f"/{gateway_pb2.DESCRIPTOR.services_by_name['Assistant'].full_name}/Converse"}),
    )


if __name__ == "__main__":
    config = load(GatewaySettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
