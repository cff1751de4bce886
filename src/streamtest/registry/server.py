"""``SchemaRegistry``: a Confluent-compatible schema registry on loopback, for any Kafka.

It binds its port in the caller's thread (so :meth:`SchemaRegistry.start` returns
with the URL known, in about a millisecond) and does everything else in the
background: the HTTP server runs on its own event loop thread, and the
``_schemas`` topic is created and read by the store's thread. A request that
arrives before the first read of the topic has finished simply waits for it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .http import DEFAULT_MAX_BODY, HttpServer
from .service import RegistryService
from .store import KafkaStore


def bind_listener(host: str, port: int) -> socket.socket:
    """Return a listening TCP socket on ``host:port`` (0 picks a free port).

    Raises:
        OSError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class SchemaRegistry:
    """A schema registry speaking Confluent's REST API, storing its schemas in a
    compacted topic of the Kafka cluster at ``bootstrap_servers``::

        with EmbeddedKafka() as kafka, SchemaRegistry(kafka.bootstrap_servers) as sr:
            client = SchemaRegistryClient({"url": sr.url})

    Args:
        bootstrap_servers: the Kafka cluster that holds the schemas topic.
        host: interface to listen on (loopback by default; there is no authentication).
        port: port to listen on; 0 picks a free one.
        topic: the schemas topic (Confluent's ``kafkastore.topic``, ``_schemas``).
        client_config: extra librdkafka settings for the store's clients.
        max_body_bytes: larger request bodies are refused with 413.
        timeout: seconds a request may wait for the schemas topic.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        topic: str = "_schemas",
        client_config: dict[str, Any] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        timeout: float = 30.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.host = host
        self.port = port
        self.topic = topic
        self.store = KafkaStore(bootstrap_servers, topic, client_config, timeout)
        self.service = RegistryService(self.store)
        self.max_body_bytes = max_body_bytes
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: HttpServer | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """Return ``http://host:port`` (for ``schema.registry.url``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Return whether the registry is serving."""
        return self._thread is not None

    def start(self, sock: socket.socket | None = None) -> SchemaRegistry:
        """Bind the port and start serving; return at once (the schemas topic is read in
        the background).

        Args:
            sock: a socket already bound and listening, to serve on instead of binding
                one (the broker's child process binds first and imports the registry
                later, so its start is not delayed by the import).

        Raises:
            OSError: the port cannot be bound.
            RuntimeError: already running.
        """
        if self._thread is not None:
            raise RuntimeError("SchemaRegistry is already running")
        if sock is None:
            sock = bind_listener(self.host, self.port)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._executor = ThreadPoolExecutor(8, thread_name_prefix="streamtest-registry-req")
        self._http = HttpServer(self.service, self._executor, self.max_body_bytes)
        self.store.start()
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(sock, ready), name="streamtest-registry-http", daemon=True
        )
        self._thread.start()
        ready.result(timeout=10)
        return self

    def _run(self, sock: socket.socket, ready: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._stop = asyncio.Event()
            assert self._http is not None
            try:
                await self._http.start(sock)
            except BaseException as exc:
                ready.set_exception(exc)
                return
            ready.set_result(None)
            await self._stop.wait()
            await self._http.stop()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self) -> None:
        """Stop serving and close the store's clients; a second call is a no-op."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        thread.join(timeout=10)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.store.stop()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the schemas topic has been read once (optional: requests wait
        by themselves).

        Raises:
            RegistryError: the topic cannot be read (50001) or the wait timed out (50002).
        """
        self.store.wait_ready(timeout)

    def __enter__(self) -> SchemaRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SchemaRegistry {self.url if self.running else 'stopped'} topic={self.topic}>"
