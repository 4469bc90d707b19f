"""What every request is checked for before a handler sees it (a `before_request` hook, so the
refusal is answered like every other error):

- path parameters carry no control character, body strings no NUL (PostgreSQL refuses NUL
  with a server error; here it is a 400 naming the field; other control characters in names
  are removed by their canonical form, `domain.names`);
- a body is `application/json` (415 otherwise), nested at most `MAX_DEPTH` deep (checked on the
  raw bytes, before any decoder recurses), and decoded strictly: `"seed": "42"` or
  `"is_public": 1` is a 400, not a coercion;
- an empty body where one is required says so, instead of naming the parameter `data`."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from nexus_image.entrypoints.http.errors import hidden_route

MAX_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks stay allowed
# "... - at `$.seed`"; inside an object, its dotted path ("$.parameters.steps"), up to a list
_PATH = re.compile(r"`\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_NAMED = re.compile(r"field `([A-Za-z_][A-Za-z0-9_]*)`")  # "missing required field `prompt`"
JSON_TYPES = ("application/json",)


class UnsupportedMediaType(HTTPException):
    status_code = 415


def invalid(field: str | None, message: str) -> ValidationException:
    return ValidationException(detail=message, extra=[{"key": field, "message": message}])


def nesting_depth_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays/objects deeper than `limit` (strings are skipped)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _body_type(request: Request[Any, Any, Any]) -> Any:
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    return None if parameter is None else parameter.annotation


def _strings(value: Any, field: str | None = None) -> Any:
    """(field, text) for every string in a decoded body, the field being the top-level name."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _strings(getattr(value, name), field or name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, field or str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, field)


async def check_request(request: Request[Any, Any, Any]) -> None:
    if request.method == "OPTIONS" and hidden_route(request):
        raise NotFoundException()  # the router's automatic 204 would show the route is there
    for name, value in request.path_params.items():
        if isinstance(value, str) and _CONTROL.search(value):
            raise invalid(name, f"{name} must not contain control characters")
    body_type = _body_type(request)
    if body_type is None:
        return
    body = await request.body()
    media_type = request.content_type[0].lower()
    if not body.strip():
        raise invalid(None, "a JSON request body is required")
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            detail=f"the request body must be application/json, not {media_type or 'untyped'}"
        )
    if nesting_depth_exceeds(body):
        raise invalid(None, f"the JSON body is nested deeper than {MAX_DEPTH} levels")
    try:
        decoded = msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        message = str(error)
        path, named = _PATH.search(message), _NAMED.search(message)
        # An object's unknown member is named with its path (a member of a list item is not).
        if path and named and "unknown field" in message and message[path.end() :].startswith("`"):
            raise invalid(f"{path.group(1)}.{named.group(1)}", message) from None
        found = path or named
        raise invalid(found.group(1) if found else None, message) from None
    except msgspec.DecodeError as error:
        raise invalid(None, f"the body is not valid JSON: {error}") from None
    for field, text in _strings(decoded):
        if "\x00" in text:
            raise invalid(field, f"{field} must not contain NUL characters")


# A multipart body is a little larger than its file (the boundaries and part headers).
MULTIPART_SLACK = 64 * 1024


async def read_form(request: Request[Any, Any, Any], field: str) -> FormMultiDict:
    """The request's multipart (or URL-encoded) form. A body its parser cannot read is a 400
    naming `field`: a text part (one without a filename) whose bytes are not text in its
    charset, a charset nobody knows, a body cut short or with broken boundaries. Too large
    stays a 413."""
    try:
        return await request.form()
    except HTTPException as error:
        if error.status_code == 400:
            raise invalid(field, f"the multipart body could not be read: {error.detail}") from None
        raise
    except (UnicodeDecodeError, LookupError, ValueError, TypeError):
        raise invalid(
            field,
            "the multipart body could not be read: send the file as a part with a filename, "
            "and text parts in UTF-8 (or a charset they are written in)",
        ) from None


async def form_file(request: Request[Any, Any, Any], missing: str) -> bytes:
    """The bytes of the multipart field `file`: exactly one part of that name, sent as a file
    (with a filename); 400 naming `file` otherwise (with `missing` when there is none). Its
    size is the use case's to check, as the route's body limit is a little larger."""
    form = await read_form(request, "file")
    sent = form.getall("file") if "file" in form else []
    if len(sent) > 1:
        raise invalid("file", f"send one part named `file`, not {len(sent)}")
    if not sent or not isinstance(sent[0], UploadFile):
        raise invalid("file", missing)
    data: bytes = await sent[0].read()
    return data
