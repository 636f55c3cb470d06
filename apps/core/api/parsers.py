from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class JSONParser(BaseParser):
    """JSON via orjson: strict UTF-8, no lone surrogates, nesting capped at 1024, no NaN/Infinity.

    The standard library parser raises RecursionError (a 500) on deeply nested input and accepts
    lone surrogates that PostgreSQL then rejects; orjson refuses both as parse errors.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
