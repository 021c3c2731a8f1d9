"""Fetching JSON documents (key sets, authorization server metadata) from configured URLs.

Only URLs from settings or from verified metadata reach this module, never a URL from a
token (``jku``/``x5u`` are ignored, RFC 8725 §3.10). TLS verification stays on; the whole
exchange is bounded in time and size; redirects are followed only within the same scheme
and host.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

MAX_DOCUMENT_BYTES = 512 * 1024
MAX_REDIRECTS = 3
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s=])", re.IGNORECASE)


class FetchError(Exception):
    """The document could not be obtained; the message is safe to log (no document content)."""


@dataclass(frozen=True)
class Document:
    """A fetched JSON object and the freshness lifetime its server gave it, if any."""

    url: str
    data: dict[str, Any]
    text: str
    max_age: int | None


def parse_max_age(cache_control: str | None) -> int | None:
    """Return Cache-Control max-age in seconds (0 for no-store/no-cache), None when absent."""
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


def parse_document(url: str, text: str, max_age: int | None) -> Document:
    """Parse a document's text: it must be a JSON object."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FetchError(f"{url} did not return JSON") from None
    if not isinstance(data, dict):
        raise FetchError(f"{url} did not return a JSON object")
    return Document(url=url, data=data, text=text, max_age=max_age)


def fetch_json(url: str, *, timeout: float) -> Document:
    """GET ``url`` and return its JSON object; raise FetchError on any failure.

    ``timeout`` bounds the whole exchange, redirects and a slowly dripping body included.
    """
    deadline = time.monotonic() + timeout
    origin = urlsplit(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url} timed out")
        try:
            response = requests.get(
                current,
                timeout=(remaining, remaining),
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise FetchError(f"{current} could not be fetched ({type(exc).__name__})") from None
        with response:
            if response.is_redirect:
                target = urljoin(current, response.headers.get("Location", ""))
                parts = urlsplit(target)
                if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                    raise FetchError(f"{current} redirected to another scheme or host")
                current = target
                continue
            if response.status_code != 200:
                raise FetchError(f"{current} answered HTTP {response.status_code}")
            body = bytearray()
            try:
                # read1 returns whatever has arrived, so a body dripping in byte by byte
                # cannot hold us past the deadline (iter_content would wait for full chunks).
                while chunk := response.raw.read1(16384, decode_content=True):
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise FetchError(f"{current} returned more than {MAX_DOCUMENT_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError(f"{current} timed out")
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise FetchError(f"{current} could not be read ({type(exc).__name__})") from None
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise FetchError(f"{current} did not return UTF-8") from None
            return parse_document(current, text, parse_max_age(response.headers.get("Cache-Control")))
    raise FetchError(f"{url} redirected too many times")
