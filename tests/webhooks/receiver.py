"""A real HTTP receiver on 127.0.0.1 for webhook tests (and the benchmark): records every
request, answers with a configurable status, can hang until released, and can be stopped and
started again on the same port (a receiver that is down refuses connections)."""

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_LIMIT_SECONDS = 60.0


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    # A real web server's listen backlog (nginx: 511). socketserver's default of 5 makes the
    # kernel drop connection attempts beyond it, which the client retries after 1 s: a
    # receiver artefact, not a delivery delay.
    request_queue_size = 128


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic
    wall: float  # Unix time, to compare with timestamps stored elsewhere


@dataclass
class Receiver:
    port: int = 0
    status: int = 200
    response_body: bytes = b"ok"
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    released: threading.Event = field(default_factory=threading.Event)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                            time.time(),
                        )
                    )
                    receiver.arrived.notify_all()
                if receiver.hang:
                    receiver.released.wait(HANG_LIMIT_SECONDS)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", str(len(receiver.response_body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(receiver.response_body)
                except OSError:
                    pass  # the client gave up (timeout) or died

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until at least ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} webhook requests arrived")
                self.arrived.wait(left)
            return list(self.received)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def free_port() -> int:
    """A port nothing listens on (for a receiver that is down, to be started on it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
