"""An SMTP sink on 127.0.0.1 that keeps what it receives and refuses or stalls on request.

Used in-process (tests/invitations) and by the live stack (tests/live). aiosmtpd runs its event
loop in a thread; the handler's state is guarded by a lock because tests read it meanwhile.
``CountingSink`` also notes the client connection of every recipient, so "one SMTP connection
per batch" is counted, not assumed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

STALL_LIMIT = 30.0  # seconds; a stalled DATA never outlives a test by more than this


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()


class SinkHandler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._pipelining = True  # kept by reset
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.delivered: list[Received] = []
            self.refused: list[Received] = []
            self.rcpt_refusals = 0
            self._data_answers: deque[str] = deque()
            self._rcpt_answer: str | None = None
            self._after_accept: Callable[[], None] | None = None
            self._stall = False
        self._release.set()
        self._release = threading.Event()

    # What the next transactions get -------------------------------------------------------
    def answer_data(self, *replies: str) -> None:
        """The next DATA commands get these replies (e.g. "451 ..."); later ones are accepted."""
        with self._lock:
            self._data_answers.extend(replies)

    def refuse_recipients(self, reply: str) -> None:
        """Every RCPT TO gets ``reply`` (e.g. "550 5.1.1 ...") until ``reset``."""
        with self._lock:
            self._rcpt_answer = reply

    def after_next_accept(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, after the next message is stored and before the 250 reply."""
        with self._lock:
            self._after_accept = hook

    def stall_data(self) -> None:
        """Hold every DATA without answering until ``reset`` (or STALL_LIMIT) (FA-6)."""
        with self._lock:
            self._stall = True

    def offer_pipelining(self, offered: bool) -> None:
        """Whether EHLO offers PIPELINING (RFC 2920), as production relays do; on by default.
        aiosmtpd reads pipelined commands in order and answers each as it goes, which is all the
        extension asks of a server; it just does not say so itself."""
        with self._lock:
            self._pipelining = offered

    def offers_pipelining(self) -> bool:
        with self._lock:
            return self._pipelining

    # aiosmtpd hooks -------------------------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname  # the hook's duty once it exists (aiosmtpd's docs)
        with self._lock:
            offered = self._pipelining
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if offered else responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            answer = self._rcpt_answer
            if answer:
                self.rcpt_refusals += 1
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
        await self._maybe_stall()
        with self._lock:
            answer = self._data_answers.popleft() if self._data_answers else None
            hook = None
            if answer:
                self.refused.append(received)
            else:
                self.delivered.append(received)
                hook, self._after_accept = self._after_accept, None
        if hook is not None:
            hook()
        return answer or "250 Message accepted for delivery"

    async def _maybe_stall(self) -> None:
        with self._lock:
            stall, release = self._stall, self._release
        deadline = time.monotonic() + STALL_LIMIT
        while stall and not release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    # Reading --------------------------------------------------------------------------------
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.delivered)

    def count_by_message_id(self) -> Counter:
        return Counter(received.message_id for received in self.messages())

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(f"the sink got {len(self.messages())} messages, expected {count}")


class CountingHandler(SinkHandler):
    """The test sink, also noting the client connection (address, port) of every RCPT and
    refusing chosen addresses only."""

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.peers: list[tuple[str, int]] = []
            self._refused_addresses: dict[str, str] = {}

    def refuse_address(self, address: str, reply: str) -> None:
        with self._lock:
            self._refused_addresses[address] = reply

    def connections(self) -> int:
        with self._lock:
            return len(set(self.peers))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            self.peers.append(session.peer)
            answer = self._refused_addresses.get(address)
            if answer:
                self.rcpt_refusals += 1
        if answer:
            return answer
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class _Controller(Controller):
    """aiosmtpd's controller on a port the kernel picks, so parallel runs never collide."""

    def __init__(self, handler: SinkHandler) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        super().__init__(
            handler, hostname="127.0.0.1", port=self._socket.getsockname()[1], ready_timeout=10
        )

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._socket)


def send_to(settings, port: int) -> None:
    """Point Django's SMTP backend at 127.0.0.1:``port`` (a sink, or a port nobody listens on)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


class SmtpSink:
    handler_class: type[SinkHandler] = SinkHandler

    def __init__(self) -> None:
        self.handler = self.handler_class()
        self._controller = _Controller(self.handler)

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.handler.reset()  # releases a stalled DATA
        self._controller.stop()


class CountingSink(SmtpSink):
    """The sink with a ``CountingHandler``: it counts client connections."""

    handler_class = CountingHandler
