"""Request bodies are read by the same strict JSON reader as scenario files.

Litestar's own decoder takes the last of two repeated keys, fails with a 500 on deep nesting and
names no field; replacing `Request.json` puts every JSON body through `parse_json` instead, so
the problems come back as 400s naming the field, and anything but JSON is 415.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from commissioning.strict_json import parse_json

_UTF8 = {"utf-8", "utf8"}


def _is_json(media_type: str) -> bool:
    kind, _, subtype = media_type.lower().partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is parsed strictly (see commissioning.strict_json)."""

    _strict_json: Any
    _parsed = False

    async def json(self) -> Any:
        if not self._parsed:
            media_type, options = self.content_type
            # No Content-Type at all is taken as JSON; anything else must say JSON, in UTF-8.
            if media_type and not _is_json(media_type):
                raise HTTPException(
                    status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail=f"the body must be JSON (Content-Type: application/json), "
                    f"not {media_type}",
                )
            charset = options.get("charset", "utf-8").lower()
            if charset not in _UTF8:
                raise HTTPException(
                    status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail=f"the body must be UTF-8, not {charset}",
                )
            body = await self.body()
            self._strict_json = parse_json(body or b"null", where="body")
            self._parsed = True
        return self._strict_json
