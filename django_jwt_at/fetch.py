"""Fetching JSON documents (key sets, authorization server metadata) from configured URLs.

Only URLs from settings or from verified metadata reach this module, never a URL from a
token (``jku``/``x5u`` are ignored, RFC 8725 §3.10). TLS verification stays on; connecting,
each read and the whole body are bounded in time, the body in size; redirects are followed
only within the same scheme and host (and port).

This is a trust boundary: every byte of a response (status line, header names and values,
framing, body) may be hostile. :func:`fetch_json` turns every failure into a
:class:`FetchError`, which the key-set code answers with stale keys or a 503, never a 500.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import urllib3

MAX_DOCUMENT_BYTES = 512 * 1024
MAX_REDIRECTS = 3
#: RFC 9111 §1.2.2: a delta-seconds value greater than a cache can represent "MUST" be taken
#: as 2^31 (or the greatest integer it can conveniently represent).
MAX_DELTA_SECONDS = 2**31
# RFC 9111 §1.2.2: delta-seconds = 1*DIGIT, ASCII digits only (a str pattern's \d would match
# other scripts' digits too).
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?([0-9]+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s=])", re.IGNORECASE)
# RFC 9110 §15.4: the statuses whose Location names where to repeat the request.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A URI-reference (RFC 3986 §4.1) is printable ASCII without space, '"' or '\'; anything
# else in a Location field is refused rather than guessed at (and never reaches a log).
_URI_REFERENCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class FetchError(Exception):
    """The document could not be obtained; the message is safe to log: it names the URL
    that was asked for and a fixed reason, never response content."""


@dataclasses.dataclass(frozen=True)
class Document:
    """A fetched JSON object and the freshness lifetime its server gave it, if any.

    ``url`` is the URL asked for, before any redirect (where a redirect led is response
    content, kept out of log messages).
    """

    url: str
    data: dict[str, Any]
    text: str
    max_age: int | None


def parse_max_age(cache_control: str | None) -> int | None:
    """Return Cache-Control max-age in seconds (0 for no-store/no-cache), None when absent.

    Never raises: a value past :data:`MAX_DELTA_SECONDS` (any number of digits) is
    :data:`MAX_DELTA_SECONDS`, as RFC 9111 §1.2.2 requires; the caller clamps it further.
    """
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return None
    # int() refuses strings of more than 4,300 digits (CVE-2020-10735), and a long one
    # costs quadratic time below that: look at the length first.
    digits = match.group(1).lstrip("0")
    if len(digits) > len(str(MAX_DELTA_SECONDS)):
        return MAX_DELTA_SECONDS
    return min(int(digits or "0"), MAX_DELTA_SECONDS)


def parse_document(url: str, text: str, max_age: int | None) -> Document:
    """Parse a document's text: it must be a JSON object. Raises FetchError otherwise."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also an integer of too many digits
        raise FetchError(f"{url} did not return JSON") from None
    if not isinstance(data, dict):
        raise FetchError(f"{url} did not return a JSON object")
    return Document(url=url, data=data, text=text, max_age=max_age)


def redirect_target(current: str, location: str | None, origin: SplitResult) -> str:
    """The absolute URL that a redirect from ``current`` with this ``Location`` names.

    RFC 9110 §10.2.2: the value is a URI-reference, resolved against the request URL
    (RFC 3986 §5). Raises FetchError (with a reason that quotes nothing of ``location``)
    when it is missing, not a URI-reference, unparsable (a broken IPv6 literal, a port
    that is not a number), or leaves the scheme and host (and port) of ``origin``: a
    document must not be able to send us to another service, nor from https to http.
    """
    if not location:
        raise FetchError("redirected without a Location")
    if not _URI_REFERENCE.fullmatch(location):
        raise FetchError("redirected to an invalid URL")
    try:
        target = urljoin(current, location)
        parts = urlsplit(target)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise FetchError("redirected to an invalid URL") from None
    if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
        raise FetchError("redirected to another scheme or host")
    return target


class _Session(requests.Session):
    """A session that never follows, nor prepares to follow, a redirect.

    Even with ``allow_redirects=False``, ``Session.send`` prepares the next request of a
    3xx response, and doing so reads its whole body into memory (no size cap, no overall
    deadline) and decodes its Location as UTF-8. :func:`fetch_json` follows redirects
    itself, under its own rules; here there is never a redirect target.
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def fetch_json(url: str, *, timeout: float) -> Document:
    """GET ``url`` and return its JSON object; raise FetchError on any failure.

    Total: for any response (any status line, headers, framing, encoding or body) and any
    ``url``, the result is a Document or a FetchError, no other exception (KeyboardInterrupt
    and SystemExit aside). ``timeout`` bounds connecting, each wait for data, and the whole
    body, redirects included.
    """
    try:
        return _fetch_json(url, timeout)
    except FetchError:
        raise
    except Exception as exc:  # noqa: BLE001  (the contract; see below)
        # Every failure known to happen is turned into a FetchError where it happens (and
        # tested); this keeps the contract for an unknown one (a new exception of requests
        # or urllib3), so that a hostile response still means stale keys or a 503, never a
        # 500. The exception's text may quote the response: only its class is kept.
        raise FetchError(f"{url} could not be fetched (unexpected {type(exc).__name__})") from None


def _fetch_json(url: str, timeout: float) -> Document:
    deadline = time.monotonic() + timeout
    try:
        origin = urlsplit(url)
    except ValueError:
        raise FetchError(f"{url} is not a valid URL") from None
    current = url
    with _Session() as session:
        for redirects in range(MAX_REDIRECTS + 1):
            # Messages name the URL asked for, not a redirect target: a Location is
            # response content.
            where = url if not redirects else f"{url} (after {redirects} redirect{'s' * (redirects > 1)})"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(f"{where} timed out")
            try:
                response = session.get(
                    current,
                    timeout=(remaining, remaining),
                    allow_redirects=False,
                    stream=True,
                    headers={"Accept": "application/json"},
                )
            except (requests.RequestException, ValueError) as exc:
                # ValueError (UnicodeError included): a URL or header requests cannot handle.
                raise FetchError(f"{where} could not be fetched ({type(exc).__name__})") from None
            with response:
                status = response.status_code
                if status in _REDIRECTS:
                    try:
                        current = redirect_target(current, response.headers.get("Location"), origin)
                    except FetchError as exc:
                        raise FetchError(f"{where} {exc}") from None
                    continue
                if status != 200:
                    raise FetchError(f"{where} answered HTTP {status}")
                body = _read_body(response, where, deadline)
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise FetchError(f"{where} did not return UTF-8") from None
                max_age = parse_max_age(response.headers.get("Cache-Control"))
                return dataclasses.replace(parse_document(where, text, max_age), url=url)
    raise FetchError(f"{url} redirected too many times")


def _read_body(response: requests.Response, where: str, deadline: float) -> bytes:
    """The (decoded) body, at most MAX_DOCUMENT_BYTES, read before ``deadline``."""
    body = bytearray()
    try:
        # read1 returns whatever has arrived, so a body dripping in byte by byte cannot
        # hold us past the deadline (iter_content would wait for full chunks).
        while chunk := response.raw.read1(16384, decode_content=True):
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise FetchError(f"{where} returned more than {MAX_DOCUMENT_BYTES} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"{where} timed out")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchError(f"{where} could not be read ({type(exc).__name__})") from None
    return bytes(body)
