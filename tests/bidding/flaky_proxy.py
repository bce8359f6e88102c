"""A TCP proxy in front of the live server that breaks chosen answers the ways networks do: the client's tests
use it to meet cut-off answers and reset connections for real, over sockets."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from core.faults import UNAVAILABLE

# What the proxy does to one request it is told to break:
#   "drop"    closes the connection without passing the request on (the server never sees it);
#   "lost"    passes it on, lets the server answer, and closes without a byte of the answer;
#   "cut"     passes it on and sends only the first part of the answer (headers and a little of the body);
#   "garbage" passes it on and answers with a line that is not HTTP;
#   "outage"  answers for the server as it does while its database is down (503 service_unavailable), without
#             passing the request on.
BEHAVIOURS = ("drop", "lost", "cut", "garbage", "outage")
_OUTAGE_BODY = json.dumps(UNAVAILABLE).encode()  # what core.faults answers
OUTAGE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 30\r\nConnection: close\r\n"
    + f"Content-Length: {len(_OUTAGE_BODY)}\r\n\r\n".encode()
    + _OUTAGE_BODY
)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _forward(request: bytes, upstream: tuple[str, int]) -> bytes:
    with socket.create_connection(upstream, timeout=60) as server:
        server.sendall(request)
        answer = b""
        while chunk := server.recv(65536):
            answer += chunk
    return answer


@contextmanager
def flaky_proxy(target_url: str, plan: list[str], *, match: bytes = b"POST ") -> Iterator[str]:
    """Serve on a free local port; requests whose first line contains ``match`` meet ``plan`` in turn (each a
    behaviour or "pass"), every other request passes through. Yields the proxy's URL."""
    target = urllib.parse.urlsplit(target_url)
    upstream = (target.hostname or "127.0.0.1", int(target.port or 80))
    remaining = list(plan)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            request = _read_request(conn)
            first_line = request.split(b"\r\n", 1)[0]
            action = remaining.pop(0) if match in first_line and remaining else "pass"
            if action == "drop":
                return
            if action == "outage":
                conn.sendall(OUTAGE)
                return
            answer = _forward(request, upstream)
            if action == "lost":
                return
            if action == "cut":
                head_end = answer.index(b"\r\n\r\n") + 4
                conn.sendall(answer[: head_end + 20])
            elif action == "garbage":
                conn.sendall(b"this is not HTTP\r\n\r\n")
            else:
                conn.sendall(answer)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert not remaining, f"the client never sent the requests the plan broke: {remaining}"
