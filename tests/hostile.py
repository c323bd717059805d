"""HTTP servers on 127.0.0.1 that answer like a management API gone wrong, for the tests
that bound a live fetch: a page count that never ends, a body trickled a byte at a time,
a Content-Length of gigabytes, a chunked body that never ends, headers that never end,
JSON nested 200,000 deep.

Each server is raw sockets in threads, started and stopped by the test (``with serve(...)
as url``). Every loop it runs ends by itself: when the client goes, when the test stops
the server, or after `LIFETIME` seconds at the latest.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

#: no server of these tests sends for longer
LIFETIME = 60.0
VHOST = "hostile"

OVERVIEW = {"management_version": "3.10.8", "rabbitmq_version": "3.10.8",
            "object_totals": {"queues": 1}, "exchange_types": []}
#: a small, valid topology, endpoint by endpoint (lists as the API lists one vhost)
TOPOLOGY: dict[str, Any] = {
    "vhosts": [{"name": VHOST, "tracing": False}],
    "exchanges": [{"name": "orders", "vhost": VHOST, "type": "topic", "durable": True,
                   "auto_delete": False, "internal": False, "arguments": {}}],
    "queues": [{"name": "orders.created", "vhost": VHOST, "durable": True,
                "auto_delete": False, "exclusive": False, "arguments": {},
                "type": "classic", "messages": 3, "consumers": 1}],
    "bindings": [{"source": "orders", "vhost": VHOST, "destination": "orders.created",
                  "destination_type": "queue", "routing_key": "order.created",
                  "arguments": {}, "properties_key": "order.created"}],
    "policies": [], "operator-policies": [], "parameters": [],
}


class Request:
    """One request's path and query, and the socket to answer on."""

    def __init__(self, connection: socket.socket, target: str, server: Server) -> None:
        parts = urlsplit(target)
        self.connection = connection
        self.path = parts.path
        self.query = dict(pair.partition("=")[::2] for pair in parts.query.split("&") if pair)
        self.server = server

    @property
    def endpoint(self) -> str:
        """``queues`` for ``/api/queues/VHOST``."""
        return unquote(self.path.removeprefix("/api/").partition("/")[0])

    def going(self) -> bool:
        return self.server.going()

    def send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def answer(self, body: bytes, status: str = "200 OK",
               content_type: str = "application/json") -> None:
        self.send(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: "
                  f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    def json(self, value: Any) -> None:
        self.answer(json.dumps(value).encode())

    def api(self, bodies: dict[str, Any] | None = None) -> None:
        """Answer as a management API holding ``bodies`` (default TOPOLOGY), paged where
        the API pages."""
        bodies = TOPOLOGY if bodies is None else bodies
        if self.endpoint == "overview":
            self.json(OVERVIEW)
        elif "page" in self.query:
            items = bodies[self.endpoint]
            self.json({"items": items, "page": 1, "page_count": 1, "page_size": 500,
                       "item_count": len(items), "total_count": len(items),
                       "filtered_count": len(items)})
        else:
            self.json(bodies[self.endpoint])


class Server:
    """Accepts connections and hands each request to ``behave(request)`` in a thread."""

    def __init__(self, behave: Callable[[Request], None]) -> None:
        self.behave = behave
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopped = threading.Event()
        self.ends = time.monotonic() + LIFETIME
        self.requests = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def going(self) -> bool:
        return not self.stopped.is_set() and time.monotonic() < self.ends

    def accept(self) -> None:
        self.listener.settimeout(0.2)
        while self.going():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self.handle, args=(connection,), daemon=True).start()

    def handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(LIFETIME)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                target = head.split(b" ", 2)[1].decode("latin-1")
                self.requests += 1
                self.behave(Request(connection, target, self))
            except OSError:
                pass  # the client went: the point of most of these servers

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


@contextmanager
def serve(behave: Callable[[Request], None]) -> Iterator[Server]:
    server = Server(behave)
    try:
        yield server
    finally:
        server.stop()


# -- behaviours ------------------------------------------------------------------------------

def endless_pages(request: Request) -> None:
    """Every page of every paged list says there is one more."""
    if "page" in request.query:
        page = int(request.query["page"])
        request.json({"items": [], "page": page, "page_count": page + 1, "page_size": 500})
    else:
        request.api()


def countless_pages(request: Request) -> None:
    """The first page of a paged list announces a billion pages."""
    if "page" in request.query:
        request.json({"items": [], "page": 1, "page_count": 10**9, "page_size": 500})
    else:
        request.api()


def trickle(request: Request) -> None:
    """A real overview, one byte every 50 ms: each read gets a byte long before any timeout."""
    body = json.dumps(OVERVIEW).encode() * 1000
    request.send(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 f"{len(body)}\r\n\r\n".encode())
    for byte in body:
        if not request.going():
            return
        request.send(bytes([byte]))
        time.sleep(0.05)


def slow_headers(request: Request) -> None:
    """A status line, then a header that never ends, a byte every 50 ms."""
    request.send(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while request.going():
        request.send(b"a")
        time.sleep(0.05)


def huge_content_length(request: Request) -> None:
    """Announces 10 GB, then sends what it can."""
    request.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 10000000000\r\n\r\n")
    chunk = b" " * 65536
    while request.going():
        request.send(chunk)


def endless_chunked(request: Request) -> None:
    """A chunked body of spaces that never ends (JSON allows leading whitespace)."""
    request.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    while request.going():
        request.send(chunk)


def endless_unsized(request: Request) -> None:
    """No Content-Length, no chunks: a body that ends when the connection does, never."""
    request.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close"
                 b"\r\n\r\n")
    chunk = b" " * (1 << 20)
    while request.going():
        request.send(chunk)


def nested(depth: int) -> Callable[[Request], None]:
    """The overview answered with a list nested ``depth`` deep."""
    def behave(request: Request) -> None:
        request.answer(b"[" * depth + b"]" * depth)
    return behave
