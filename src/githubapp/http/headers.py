"""Reading a few named headers of a response, cheaply, as ``httpx.Headers.get`` gives them.

    READ = HeaderReader(("etag", "last-modified"))
    etag, modified = READ.of(response)     # str | None each
    etag, modified = READ(headers)         # from any mapping of headers

Values read as ``httpx.Headers.get`` gives them (a repeated name joined with ``", "``), whichever
view is read: :class:`httpx.Headers` (one pass over its list instead of one per name) or a
multidict such as aiohttp's parsed headers, which the direct path's response offers before its
``httpx.Headers`` are made. aiohttp decodes bytes that are not UTF-8 differently from httpx, so
:meth:`HeaderReader.of` reads a response's ``httpx.Headers`` when a value is not ASCII.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

__all__ = ["HeaderReader"]


class HeaderReader:
    """``[headers.get(name) for name in names]`` for lower-case ``names``, made fast (see the module)."""

    __slots__ = ("_at", "names")

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(name.lower() for name in names)
        self._at = {name.encode(): at for at, name in enumerate(self.names)}

    def of(self, response: httpx.Response) -> list[str | None]:
        """The values of a response's headers (see the module)."""
        peek = getattr(response, "peek_headers", None)  # the direct path's response: headers not made yet
        if peek is not None:
            found = self(peek())
            if all(value is None or value.isascii() for value in found):
                return found
        return self(response.headers)

    def __call__(self, headers: Mapping[str, str]) -> list[str | None]:
        if isinstance(headers, httpx.Headers):
            return self._from_httpx(headers)
        getall = getattr(headers, "getall", None)
        if getall is None:
            return [headers.get(name) for name in self.names]
        found: list[str | None] = []
        for name in self.names:  # a multidict: every value of the name, joined as httpx joins them
            values = getall(name, None)
            found.append(None if values is None else ", ".join(values))
        return found

    def _from_httpx(self, headers: httpx.Headers) -> list[str | None]:
        found: list[str | None] = [None] * len(self.names)
        at_of = self._at
        for _, name, value in headers._list:  # (name, lower-cased name, value), as bytes: no copy
            at = at_of.get(name)
            if at is not None:
                # ASCII reads the same in each encoding httpx may pick; else as httpx decodes it
                text = value.decode("ascii") if value.isascii() else value.decode(headers.encoding)
                seen = found[at]
                found[at] = text if seen is None else f"{seen}, {text}"
        return found
