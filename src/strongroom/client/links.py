"""The client's view of each HSM: its connections, their sessions, and whether it is up.

This module owns per-HSM state for ``HSMClient``: a small set of multiplexed connections
(opened on first use), one server session per connection logged in as the client's user
(lazily, so a failover target logs in when it is first needed), and health: an HSM that
failed is skipped for a back-off period that grows while it keeps failing.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from strongroom.client.config import Credentials
from strongroom.client.transport import Connection
from strongroom.errors import HSMUnavailable

__all__ = ["HSMLink", "LinkConnection"]

_MAX_DOWN_SECONDS = 5.0


class LinkConnection:
    """One connection and the server session the client uses on it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.session: int | None = None
        self.login_generation = 0
        self.role: str | None = None
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LinkConnection({self.connection!r}, session={self.session})"

    def session_for(self, generation: int, credentials: Credentials | None, timeout: float) -> int:
        """This connection's session, (re)logged in as ``credentials`` if they changed."""
        with self.lock:
            call = self.connection.call
            if self.session is None:
                self.session = int(call("session.open", {}, timeout))
                self.login_generation = 0
            if self.login_generation != generation:
                if self.login_generation != 0:
                    # drop the previous user's login by replacing the session
                    call("session.close", {"session": self.session}, timeout)
                    self.session = int(call("session.open", {}, timeout))
                self.role = None
                if credentials is not None:
                    self.role = call(
                        "session.login",
                        {
                            "session": self.session,
                            "username": credentials.username,
                            "password": credentials.password,
                        },
                        timeout,
                    )
                self.login_generation = generation
            return self.session


class HSMLink:
    """One HSM: its address, its connections, its health."""

    def __init__(
        self,
        address: str,
        context: ssl.SSLContext,
        *,
        size: int,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self._context = context
        self._size = size
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._connections: list[LinkConnection] = []
        self._next = 0
        self._lock = threading.Lock()
        self.down_until = 0.0
        self.failures = 0
        self.hsm_id: str | None = None

    def __repr__(self) -> str:
        return f"HSMLink({self.address!r}, up={self.up})"

    @property
    def up(self) -> bool:
        """Not inside a back-off period after a failure."""
        return self._clock() >= self.down_until

    def acquire(self) -> LinkConnection:
        """A live connection (round-robin), opening one if the pool is short."""
        with self._lock:
            self._connections = [c for c in self._connections if c.connection.alive]
            if len(self._connections) < self._size:
                connection = Connection(
                    self.address, self._context, connect_timeout=self._connect_timeout
                )
                self.hsm_id = connection.hsm_id
                link_connection = LinkConnection(connection)
                self._connections.append(link_connection)
                return link_connection
            self._next = (self._next + 1) % len(self._connections)
            return self._connections[self._next]

    def mark_down(self) -> None:
        """Skip this HSM for a while (doubling per consecutive failure, ≤ 5 s)."""
        with self._lock:
            self.failures += 1
            delay = min(0.1 * 2 ** (self.failures - 1), _MAX_DOWN_SECONDS)
            self.down_until = self._clock() + delay
            self._connections = [c for c in self._connections if c.connection.alive]

    def mark_up(self) -> None:
        """A request succeeded here."""
        if self.failures:
            with self._lock:
                self.failures = 0
                self.down_until = 0.0

    def call_any(self, command: str, args: dict[str, Any], timeout: float) -> Any:
        """A session-less call on any connection of this HSM."""
        try:
            return self.acquire().connection.call(command, args, timeout)
        except HSMUnavailable:
            self.mark_down()
            raise

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            connections, self._connections = self._connections, []
        for item in connections:
            item.connection.close()
