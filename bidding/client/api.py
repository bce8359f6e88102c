"""Talking to the platform's API with the standard library only (``urllib.request``).

Every refusal, the server's or the client's own, is a :class:`ClientError` with the platform's error shape:
a stable ``code`` and a message in English and Chinese. A failure of the network or of the server itself is
``transient``: the same request may work a moment later. Those whose outcome is unknown (the request may have
reached the server: ``connection_lost``, ``response_cut_off``, ``timeout``) are safe to repeat only where the server
makes a repeat harmless, as the bid submission's idempotency key does; ``submit`` retries them itself.

The API token is sent only to the configured server: redirects are not followed (a redirect could carry the
``Authorization`` header to another host), and a pagination link that names another host is rewritten onto the
configured one.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
USER_AGENT = "agora-client/1"
_CHUNK = 1024 * 1024
# Hosts where plain HTTP does not expose the token to a network.
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ClientError(Exception):
    """A refusal in the platform's shape: ``code``, ``detail`` (English), ``detail_zh`` (Chinese)."""

    def __init__(self, code: str, detail: str, detail_zh: str, *, fields: Any = None, transient: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.detail_zh = detail_zh
        self.fields = fields
        self.transient = transient


# A proxy with no server behind it (502, 504), or a 503 that is an outage rather than a setting (the platform's
# ``service_unavailable``, or a proxy's page): try again later. A 503 ``ca_not_configured`` will not pass by itself.
_TRANSIENT_STATUSES = {502, 504}
_TRANSIENT_503 = {"service_unavailable", "http_503"}


class ApiError(ClientError):
    """The API refused the request; ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, detail: str, detail_zh: str, *, fields: Any = None) -> None:
        transient = status in _TRANSIENT_STATUSES or (status == 503 and code in _TRANSIENT_503)
        super().__init__(code, detail, detail_zh, fields=fields, transient=transient)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """A file sent as one part of a multipart body, streamed from disk."""

    field: str
    path: str
    filename: str
    content_type: str = "application/octet-stream"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them (the token must not travel to another address)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _quoted(value: str) -> str:
    # RFC 7578: names in Content-Disposition are quoted strings; escape what would end them.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart(fields: Mapping[str, str], uploads: list[Upload]) -> tuple[str, int, Iterator[bytes]]:
    """Frame a ``multipart/form-data`` body: returns the content type, the length and the body as chunks.

    Files are streamed from disk in 1 MiB chunks, so a large sealed bid is never held in memory twice. The
    boundary is random (128 bits); a part that contains it is practically impossible, and the text fields are
    checked anyway.
    """
    boundary = "agora-" + secrets.token_hex(16)
    if any(boundary in v for v in fields.values()):  # pragma: no cover - 2^-128
        return multipart(fields, uploads)
    dash = f"--{boundary}\r\n".encode()
    heads: list[bytes] = []
    for name, value in fields.items():
        heads.append(
            dash
            + f'Content-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    file_heads = [
        dash
        + (
            f'Content-Disposition: form-data; name="{_quoted(u.field)}"; filename="{_quoted(u.filename)}"\r\n'
            f"Content-Type: {u.content_type}\r\n\r\n"
        ).encode()
        for u in uploads
    ]
    tail = f"--{boundary}--\r\n".encode()
    sizes = [os.path.getsize(u.path) for u in uploads]
    length = sum(map(len, heads)) + sum(map(len, file_heads)) + sum(sizes) + 2 * len(uploads) + len(tail)

    def chunks() -> Iterator[bytes]:
        yield from heads
        for upload, head, size in zip(uploads, file_heads, sizes, strict=True):
            yield head
            sent = 0
            with open(upload.path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    sent += len(chunk)
                    yield chunk
            if sent != size:
                # The Content-Length is already on the wire; a file that changed size cannot be sent.
                raise ClientError(
                    "file_changed",
                    f"{upload.path} changed while it was being sent.",
                    f"文件 {upload.path} 在发送过程中被修改。",
                )
            yield b"\r\n"
        yield tail

    return f"multipart/form-data; boundary={boundary}", length, chunks()


def _error_from_body(status: int, reason: str, body: bytes) -> ApiError:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        detail = str(data.get("detail", ""))
        return ApiError(status, data["code"], detail, str(data.get("detail_zh") or detail), fields=data.get("fields"))
    return ApiError(
        status,
        f"http_{status}",
        f"The server answered {status} {reason}.".replace("  ", " "),
        f"服务器返回 HTTP {status}。",
    )


class Api:
    """One configured server and (optionally) one token."""

    def __init__(self, server: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(server.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ClientError(
                "server_invalid",
                f"The server address {server!r} is not an http:// or https:// URL.",
                f"服务器地址 {server!r} 不是 http:// 或 https:// 网址。",
            )
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.host = parts.hostname or ""
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    @property
    def insecure(self) -> bool:
        """True when a token would cross a network in clear text."""
        return self.scheme == "http" and self.host not in _LOCAL_HOSTS

    def url(self, path: str) -> str:
        return self.base + path

    def _same_server(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((self.scheme, self.netloc, parts.path, parts.query, ""))

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | Iterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - scheme checked in __init__
        request.add_header("User-Agent", USER_AGENT)
        request.add_header("Accept", "application/json")
        # ``detail`` is the English message; without this, DRF's own messages come in the site's language.
        request.add_header("Accept-Language", "en")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if auth:
            if not self.token:
                raise ClientError(
                    "token_missing",
                    "No API token: run `python -m bidding.client login`, then pass --token or --token-file "
                    "or set AGORA_TOKEN.",
                    "缺少 API 令牌：请先运行 `python -m bidding.client login`，再使用 --token、--token-file "
                    "或环境变量 AGORA_TOKEN。",
                )
            # Unredirected: never repeated to another address, even if a handler followed a redirect.
            request.add_unredirected_header("Authorization", f"Token {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return int(response.status), self._read(response, url)
        except urllib.error.HTTPError as exc:
            with exc:
                content = self._read(exc, url)
            if 300 <= exc.code < 400:
                location = exc.headers.get("Location", "")
                raise ClientError(
                    "redirected",
                    f"The server redirected {url} to {location}; use the final address as --server.",
                    f"服务器将 {url} 重定向到 {location}，请用最终地址作为 --server。",
                ) from None
            raise _error_from_body(exc.code, str(exc.reason or ""), content) from None
        except urllib.error.URLError as exc:
            # Raised while connecting or sending: the reason says whether the request may have arrived.
            raise self._network_error(exc.reason, url) from None
        except (http.client.HTTPException, OSError) as exc:
            # Raised while waiting for the answer's first line (RemoteDisconnected, BadStatusLine, a timeout).
            raise self._network_error(exc, url) from None

    def _read(self, response: Any, url: str) -> bytes:
        try:
            return bytes(response.read())
        except http.client.IncompleteRead as exc:
            expected = f" of {len(exc.partial) + exc.expected}" if exc.expected is not None else ""
            raise ClientError(
                "response_cut_off",
                f"The answer to {url} was cut off after {len(exc.partial)}{expected} bytes: the server may have "
                "done what was asked.",
                f"服务器对 {url} 的响应在 {len(exc.partial)} 字节处中断：服务器可能已经执行了该请求。",
                transient=True,
            ) from None
        except (http.client.HTTPException, OSError) as exc:
            raise self._network_error(exc, url) from None

    def _network_error(self, reason: object, url: str) -> ClientError:
        """What went wrong on the way, and whether the server may have acted: never a traceback."""
        if isinstance(reason, ConnectionRefusedError | socket.gaierror | str):
            return ClientError(
                "connection_failed",
                f"Cannot reach {self.base}: {reason}. Nothing was sent.",
                f"无法连接服务器 {self.base}：{reason}。请求未发出。",
                transient=True,
            )
        if isinstance(reason, TimeoutError):
            return ClientError(
                "timeout",
                f"{self.base} did not answer within {self.timeout:g} seconds: the server may have done what was asked.",
                f"服务器 {self.base} 在 {self.timeout:g} 秒内没有响应：服务器可能已经执行了该请求。",
                transient=True,
            )
        if isinstance(reason, http.client.HTTPException | ConnectionError):
            return ClientError(
                "connection_lost",
                f"The connection to {self.base} was closed or reset before the answer to {url} arrived "
                f"({type(reason).__name__}): the server may have done what was asked.",
                f"与服务器 {self.base} 的连接在收到响应前被关闭或重置：服务器可能已经执行了该请求。",
                transient=True,
            )
        return ClientError(
            "connection_failed",
            f"The connection to {self.base} failed: {reason}.",
            f"与服务器 {self.base} 的连接失败：{reason}。",
            transient=True,
        )

    @staticmethod
    def _json(status: int, content: bytes) -> Any:
        try:
            return json.loads(content)
        except ValueError:
            raise ApiError(
                status,
                "response_invalid",
                "The server's answer is not JSON; is --server the platform's address?",
                "服务器的响应不是 JSON，请检查 --server 是否为平台地址。",
            ) from None

    def get_json(self, path: str, *, auth: bool = True) -> Any:
        return self._json(*self._send("GET", self.url(path), auth=auth))

    def get_text(self, path: str, *, auth: bool = False) -> str:
        _, content = self._send("GET", self.url(path), auth=auth, headers={"Accept": "*/*"})
        return content.decode("utf-8", errors="replace")

    def post_json(self, path: str, body: Mapping[str, Any], *, auth: bool = True) -> Any:
        status, content = self._send(
            "POST",
            self.url(path),
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            auth=auth,
        )
        return self._json(status, content)

    def post_multipart(self, path: str, fields: Mapping[str, str], uploads: list[Upload]) -> tuple[int, Any]:
        content_type, length, chunks = multipart(fields, uploads)
        status, content = self._send(
            "POST",
            self.url(path),
            body=chunks,
            headers={"Content-Type": content_type, "Content-Length": str(length)},
        )
        return status, self._json(status, content)

    def pages(self, path: str, *, auth: bool = False) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (cursor pages: ``results`` and ``next``), or of a plain list."""
        url: str | None = self.url(path)
        while url:
            data = self._json(*self._send("GET", url, auth=auth))
            if isinstance(data, list):
                yield from data
                return
            if not isinstance(data, dict):
                return
            yield from data.get("results") or []
            following = data.get("next")
            url = self._same_server(following) if isinstance(following, str) and following else None
