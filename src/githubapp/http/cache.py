"""The conditional-request cache for GET: keys, entries, LRU by bytes, invalidation, statistics.

    cache = ResponseCache(ttl=300, fresh_for=0, max_bytes=32 << 20)
    key = cache_key("GET", url, params, accept, identity)
    entry, fresh = cache.lookup(key, now)    # fresh: serve without asking
    entry.conditional_headers()              # If-None-Match / If-Modified-Since for revalidation

A key includes a hash of the identity (never the token), so two installations never share an
entry. A 304 answer returns the stored body. Successful writes invalidate the resource they
touched and its collection, for every identity.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from .headers import HeaderReader

__all__ = ["CacheEntry", "CacheStats", "ResponseCache", "cache_key", "canonical_url", "invalidation_paths"]

#: response headers kept with an entry (the rest is not needed to serve it again)
_KEPT_HEADERS = ("content-type", "etag", "last-modified", "link", "x-github-request-id", "cache-control")
_read_kept = HeaderReader(_KEPT_HEADERS)


def canonical_url(url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``scheme://host/path?query`` with the query items sorted (URL query and extra params merged)."""
    parts = urlsplit(url)
    query = sorted([*parse_qsl(parts.query, keep_blank_values=True), *params])
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}" + (f"?{urlencode(query)}" if query else "")


def cache_key(method: str, url: str, params: Iterable[tuple[str, str]], accept: str, identity: str) -> str:
    """Method + canonical URL + Accept + a hash of the identity."""
    who = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return f"{method.upper()} {canonical_url(url, params)} accept={accept} id={who}"


def _path_of(key_or_url: str) -> str:
    parts = urlsplit(key_or_url.split(" ", 2)[1] if " " in key_or_url else key_or_url)
    return parts.netloc + parts.path.rstrip("/")


def invalidation_paths(url: str) -> tuple[str, str]:
    """The resource a write touched and its collection: ``/repos/o/r/issues/1`` -> itself and ``/repos/o/r/issues``."""
    path = _path_of(url)
    return path, path.rsplit("/", 1)[0]


@dataclass(slots=True)
class CacheEntry:
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
    stored_at: float
    path: str

    @property
    def size(self) -> int:
        return len(self.content) + sum(len(k) + len(v) for k, v in self.headers) + 64

    def conditional_headers(self) -> list[tuple[str, str]]:
        lookup = dict(self.headers)
        out = []
        if "etag" in lookup:
            out.append(("If-None-Match", lookup["etag"]))
        if "last-modified" in lookup:
            out.append(("If-Modified-Since", lookup["last-modified"]))
        return out

    def to_response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, headers=list(self.headers), content=self.content, request=request)


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    revalidations: int = 0
    stores: int = 0
    evictions: int = 0
    invalidations: int = 0
    entries: int = 0
    bytes: int = 0


class ResponseCache:
    """LRU by stored bytes; thread-safe (the blocking client may be used from several threads)."""

    def __init__(self, *, ttl: float, fresh_for: float, max_bytes: int) -> None:
        self.ttl = ttl
        self.fresh_for = fresh_for
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._by_path: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def lookup(self, key: str, now: float) -> tuple[CacheEntry | None, bool]:
        """The live entry for ``key`` (expired ones are dropped) and whether it is still fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return None, False
            age = now - entry.stored_at
            if age >= self.ttl:
                self._drop(key)
                self.stats.evictions += 1
                self.stats.misses += 1
                return None, False
            self._entries.move_to_end(key)
            fresh = age < self.fresh_for
            if fresh:
                self.stats.hits += 1
            return entry, fresh

    def revalidated(self, key: str, entry: CacheEntry, now: float) -> None:
        """GitHub answered 304: the entry is current again (counts as a hit and a revalidation)."""
        with self._lock:
            entry.stored_at = now
            self.stats.hits += 1
            self.stats.revalidations += 1

    def store(self, key: str, response: httpx.Response, now: float) -> bool:
        """Keep a 200 answer that can be revalidated (ETag or Last-Modified) or served fresh."""
        headers = tuple((name, value) for name, value in zip(_KEPT_HEADERS, _read_kept.of(response), strict=True) if value is not None)
        names = {name for name, _ in headers}
        if response.status_code != 200 or not ({"etag", "last-modified"} & names or self.fresh_for > 0):
            return False
        entry = CacheEntry(200, headers, response.content, now, _path_of(key))
        if entry.size > self.max_bytes:
            return False
        with self._lock:
            self._drop(key)
            self._entries[key] = entry
            self._by_path.setdefault(entry.path, set()).add(key)
            self.stats.bytes += entry.size
            self.stats.stores += 1
            while self.stats.bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self.stats.evictions += 1
            self.stats.entries = len(self._entries)
        return True

    def invalidate(self, url: str) -> int:
        """Drop the entries of the resource at ``url`` and of its collection (every identity, every query)."""
        dropped = 0
        with self._lock:
            for path in invalidation_paths(url):
                for key in list(self._by_path.get(path, ())):
                    self._drop(key)
                    dropped += 1
            self.stats.invalidations += dropped
        return dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_path.clear()
            self.stats.bytes = self.stats.entries = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.stats.bytes -= entry.size
        keys = self._by_path.get(entry.path)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_path[entry.path]
        self.stats.entries = len(self._entries)
