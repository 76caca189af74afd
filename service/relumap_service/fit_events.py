"""Fit events: a fit was queued, or is settled; told at once to whoever waits for it.

Two kinds of waiting are woken by these events instead of polling:

- ``POST /v1/models?wait=N`` waits for its model to be **settled** (the fit
  succeeded or failed, or the model was deleted): :meth:`FitEvents.watch`.
- An idle thread of the embedded consumer waits for a fit to be **queued**:
  :attr:`FitEvents.work_queued`. (``relumap-service worker`` on Redis needs no
  such help: Huey's Redis storage blocks in ``BRPOP``.)

An event reaches the waiters of the process where it happens directly, and
those of the other processes of the deployment through the queue's medium:

- on the Redis queue, Redis pub/sub (one channel per queue; each listening
  process holds one subscription);
- on the SQLite queue, which lives on one host, Unix datagrams to each
  listening process: a process that listens binds a socket in Linux's abstract
  namespace and leaves its name in a directory beside the queue file, where a
  process with news finds it.

An event may be lost (a Redis reconnect, a process that has not listened yet,
another host): waiters re-read the store every ``FIT_WAIT_RECHECK_SECONDS``
anyway, so a lost event costs latency, never an answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Channel", "FitEvents", "LocalChannel", "RedisChannel"]

log = logging.getLogger(__name__)

QUEUED = "queued"
SETTLED = "settled"
# How long a new listener may take to be reachable before its first wait goes ahead.
READY_SECONDS = 1.0
# A listener wakes this often (when nothing arrives) to check that it is still findable.
IDLE_SECONDS = 5.0


class Channel(Protocol):
    """How events travel between the processes of one deployment."""

    def publish(self, message: str) -> None:
        """Send ``message`` to every listening process (this one included, or not)."""

    def listen(
        self, deliver: Callable[[str], None], ready: threading.Event, stop: threading.Event
    ) -> None:
        """Deliver each message received until ``stop`` is set; set ``ready`` once reachable."""

    def interrupt(self) -> None:
        """Have this process's listener look at its ``stop`` event soon."""


class FitEvents:
    """The waiters of one process, and the channel that reaches the others.

    Parameters
    ----------
    channel : Channel, optional
        The way to the other processes; None for this process only.
    """

    def __init__(self, channel: Channel | None = None) -> None:
        self.channel = channel
        # Set when a fit is queued; idle consumer threads wait on it.
        self.work_queued = threading.Event()
        self._lock = threading.Lock()
        self._watchers: dict[str, set[threading.Event]] = {}
        self._listener: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()

    @contextlib.contextmanager
    def watch(self, model_id: str) -> Iterator[threading.Event]:
        """Yield an event set whenever ``model_id`` is settled, here or in another process.

        Read the model's state after entering (and after each wake-up, having
        cleared the event): an event that came before the read was then seen.
        """
        self.listen()
        event = threading.Event()
        with self._lock:
            self._watchers.setdefault(model_id, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                watchers = self._watchers.get(model_id)
                if watchers is not None:
                    watchers.discard(event)
                    if not watchers:
                        del self._watchers[model_id]

    def settled(self, model_id: str) -> None:
        """Announce that ``model_id`` is settled: its fit finished, failed, or it was deleted."""
        self._announce(SETTLED, model_id)

    def queued(self, model_id: str) -> None:
        """Announce that the fit of ``model_id`` was queued."""
        self._announce(QUEUED, model_id)

    def waiting(self) -> int:
        """Return how many requests of this process wait for a model now."""
        with self._lock:
            return sum(len(watchers) for watchers in self._watchers.values())

    def _announce(self, kind: str, model_id: str) -> None:
        self._deliver(f"{kind} {model_id}")
        if self.channel is not None:
            try:
                self.channel.publish(f"{kind} {model_id}")
            except Exception:  # waiters elsewhere fall back to re-reading the store
                log.warning("could not announce that fit %s was %s", model_id, kind, exc_info=True)

    def _deliver(self, message: str) -> None:
        kind, _, model_id = message.partition(" ")
        if kind == QUEUED:
            self.work_queued.set()
        elif kind == SETTLED:
            with self._lock:
                for event in self._watchers.get(model_id, ()):
                    event.set()

    def listen(self) -> None:
        """Start receiving the other processes' events, once, and wait briefly until reachable."""
        if self.channel is None:
            return
        with self._lock:
            if self._listener is not None or self._stop.is_set():
                return
            self._listener = threading.Thread(
                target=self._listen, name="relumap-fit-events", daemon=True
            )
            self._listener.start()
        # Only the first caller waits: later ones (or all, while the channel is
        # down) go ahead and rely on re-reading the store.
        self._ready.wait(READY_SECONDS)

    def _listen(self) -> None:
        assert self.channel is not None
        try:
            self.channel.listen(self._deliver, self._ready, self._stop)
        except Exception:  # waiters still re-read the store
            log.exception("fit events: the listener stopped")

    def stop(self) -> None:
        """Stop listening, and wake idle consumer threads so that they see their stop."""
        self._stop.set()
        self.work_queued.set()
        if self.channel is not None and self._listener is not None:
            self.channel.interrupt()


class LocalChannel:
    """Events between processes of one host, by Unix datagrams in the abstract namespace.

    Parameters
    ----------
    directory : Path
        Where each listening process leaves the name of its socket; shared by
        the processes of one SQLite queue (it lies beside the queue file).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
        self._prefix = f"\0relumap-{digest}-"
        self._own: set[str] = set()

    def publish(self, message: str) -> None:
        """Send ``message`` to every listener named in the directory."""
        try:
            names = [entry.name for entry in os.scandir(self.directory)]
        except FileNotFoundError:
            return
        data = message.encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            for name in names:
                if name in self._own:  # this process's waiters were told directly
                    continue
                try:
                    sender.sendto(data, self._prefix + name)
                except ConnectionRefusedError:
                    # Nobody listens there: its process ended without tidying up.
                    (self.directory / name).unlink(missing_ok=True)
                except OSError:  # a full buffer: that listener re-reads the store
                    pass

    def interrupt(self) -> None:
        """Send an empty datagram to this process's listeners."""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            for name in list(self._own):
                sock.sendto(b"", self._prefix + name)

    def listen(
        self, deliver: Callable[[str], None], ready: threading.Event, stop: threading.Event
    ) -> None:
        """Bind this process's socket, name it in the directory, deliver what arrives."""
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        entry = self.directory / name
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(self._prefix + name)
            sock.settimeout(IDLE_SECONDS)
            self._own.add(name)
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                entry.touch()
                ready.set()
                while not stop.is_set():
                    try:
                        data = sock.recv(1024)
                    except TimeoutError:
                        if not entry.exists():  # removed by mistake: be findable again
                            entry.touch()
                        continue
                    deliver(data.decode(errors="replace"))
            finally:
                self._own.discard(name)
                entry.unlink(missing_ok=True)


class RedisChannel:
    """Events between processes through one Redis pub/sub channel.

    Parameters
    ----------
    connection : redis.Redis
        The queue's Redis client (its pool is shared, and fork-safe).
    name : str
        The channel: the queue's name, so that deployments sharing a Redis stay apart.
    """

    def __init__(self, connection: Any, name: str) -> None:
        self.connection = connection
        self.name = name

    def publish(self, message: str) -> None:
        """Publish ``message`` on the channel."""
        self.connection.publish(self.name, message)

    def interrupt(self) -> None:
        """Nothing: the listener sees its stop within ``IDLE_SECONDS``."""

    def listen(
        self, deliver: Callable[[str], None], ready: threading.Event, stop: threading.Event
    ) -> None:
        """Subscribe, deliver what arrives, and subscribe again after an outage."""
        import redis

        failing = False
        while not stop.is_set():
            try:
                with self.connection.pubsub() as subscription:
                    subscription.subscribe(self.name)
                    while not stop.is_set():
                        message = subscription.get_message(timeout=IDLE_SECONDS)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            ready.set()
                            if failing:
                                log.info("fit events: Redis is reachable again")
                                failing = False
                        elif message["type"] == "message":
                            data = message["data"]
                            deliver(data.decode() if isinstance(data, bytes) else str(data))
            except redis.RedisError as exc:
                ready.clear()
                if not failing:
                    log.warning("fit events: Redis unreachable (%s); waits re-read the store", exc)
                    failing = True
                stop.wait(1.0)
