"""Text that no field may hold, and JSON too deep to decode, refused at the doors input comes in by,
with a 400 naming the field (docs/conventions.md, "Typed domain errors").

PostgreSQL refuses a NUL (U+0000) in text, and psycopg2 cannot encode a lone surrogate (U+D800 to
U+DFFF: JSON's "\\ud800" escape makes one, and so does a form or query decoded with a charset such
as utf-7 or unicode_escape, which Django accepts from the request's Content-Type). Either one in a
query or a write was a 500. JSON nested a thousand levels deep exhausts the decoder's stack: a 500
too. So:

- `InputGuardMiddleware` checks what Django reads for the views: the query string, the path's
  parameters and, outside /api/, form bodies (keys, values). Under /api/ (and for the pages' own
  scripts, which ask for JSON) it answers the one JSON error shape, else the 400 page with the field
  named in a message. A view whose Django forms refuse a NUL next to the field
  (`forms.CharField`'s ProhibitNullCharactersValidator) says so with `@forms_refuse_nul`, and the
  guard then leaves a NUL in its query or body to the forms (a lone surrogate it still refuses:
  forms do not check for one, and browsers never send one).
- `GuardedJSONParser` (DRF's DEFAULT_PARSER_CLASSES) refuses a JSON body nested deeper than
  MAX_JSON_DEPTH before it is decoded (`too_deep`), and every string and key holding a NUL or a
  lone surrogate after, named by its path (`purpose.diseases[0]`). `GuardedFormParser` and
  `GuardedMultiPartParser` do the same for the API views that read forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser, get_encoding
from rest_framework.utils import json

from portal.exceptions import InvalidInput
from portal.middleware import API_PREFIX, error_response

# The deepest JSON of the API nests 5 levels (a decision's condition object inside `decisions`);
# 32 leaves room for any purpose or profile a client may send, and keeps everything that walks a
# parsed value (json.dumps, DRF's fields, PostgreSQL's jsonb) far from its recursion limit.
MAX_JSON_DEPTH = 32
# At most this many fields are named in one answer: a body may hold thousands of bad strings.
MAX_FIELDS_NAMED = 20

MESSAGE = "Text may not contain a NUL character (U+0000) or a lone surrogate (U+D800 to U+DFFF)."
NUL = "must not contain a NUL character (U+0000)"
SURROGATE = "must not contain a lone surrogate (U+D800 to U+DFFF)"

_NUL_OR_SURROGATE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string, escapes included; what is left outside them is the structure.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
# How a NUL or a lone surrogate can be written in JSON text (a surrogate pair's halves match too).
_MAY_HOLD_BAD_TEXT = re.compile(r"\\u0000|\\u[dD][89a-fA-F]|[\x00\ud800-\udfff]")
_FORMS_REFUSE_NUL = "forms_refuse_nul"


def text_problem(value: str, *, nul: bool = True) -> str | None:
    """What is wrong with a text (NUL or SURROGATE), or None; `nul=False` looks for surrogates only."""
    found = (_NUL_OR_SURROGATE if nul else _SURROGATE).search(value)
    if found is None:
        return None
    return NUL if found.group() == "\x00" else SURROGATE


# --- JSON ---------------------------------------------------------------------------------------


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text opens more than `limit` arrays or objects inside each other, read without
    decoding it: strings are dropped (their brackets are text), then the brackets counted."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def json_problems(value: Any) -> dict[str, str]:
    """Each string of a decoded JSON value, and each object's keys, that hold a NUL or a lone
    surrogate, by path as `portal.exceptions.field_errors` names fields (`body` for the whole body;
    a bad key is named by its object). In document order, without recursion, holding one iterator
    per level and naming a path only where it descends or finds a problem (a body may be a list of
    a million numbers)."""
    problems: dict[str, str] = {}
    # (the container's path, whether it is a list, its remaining (key or index, value) pairs)
    levels: list[tuple[str, bool, Iterator[tuple[Any, Any]]]] = [("", False, iter([("", value)]))]
    while levels and len(problems) < MAX_FIELDS_NAMED:
        parent, in_list, children = levels[-1]
        step = next(children, None)
        if step is None:
            levels.pop()
            continue
        key, item = step
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                problems[_path(parent, in_list, key) or "body"] = problem
        elif isinstance(item, list):
            levels.append((_path(parent, in_list, key), True, enumerate(item)))
        elif isinstance(item, dict):
            path = _path(parent, in_list, key)
            bad_key = next(filter(None, map(text_problem, item)), None)
            if bad_key:
                # Named by its object: the key itself cannot be echoed in the answer.
                problems.setdefault(path or "body", f"a key {bad_key}")
            levels.append((path, False, _good_members(item)))
    return problems


def _path(parent: str, in_list: bool, key: Any) -> str:
    if in_list:
        return f"{parent or 'body'}[{key}]"
    return f"{parent}.{key}" if parent else key


def _good_members(item: dict) -> Iterator[tuple[str, Any]]:
    return ((key, child) for key, child in item.items() if not text_problem(key))


def _refuse_json(problems: dict[str, str]) -> None:
    if problems:
        raise InvalidInput(MESSAGE, extra={"fields": problems})


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, checking depth before decoding and every string after (module docstring)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except ValueError as exc:  # UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_too_deep(text):
            raise InvalidInput(
                f"The JSON body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep.",
                code="too_deep",
                extra={"max_depth": MAX_JSON_DEPTH},
            )
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if _MAY_HOLD_BAD_TEXT.search(text):  # most bodies need no walk
            _refuse_json(json_problems(data))
        return data


class _GuardedForm:
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        data = parsed.data if isinstance(parsed, DataAndFiles) else parsed
        _refuse_json(form_problems(data, "body"))
        return parsed


class GuardedFormParser(_GuardedForm, FormParser):
    """DRF's form parser, refusing a NUL or a lone surrogate in any key or value."""


class GuardedMultiPartParser(_GuardedForm, MultiPartParser):
    """DRF's multipart parser, refusing a NUL or a lone surrogate in any field's key or value
    (Django strips the non-printable characters from file names)."""


# --- Query strings, path parameters and form bodies ---------------------------------------------


def form_problems(data: QueryDict, whole: str, *, nul: bool = True) -> dict[str, str]:
    """Each key of a query string or form body whose name or values hold a NUL or a lone
    surrogate; a bad name is named by `whole` ("query", "body")."""
    problems: dict[str, str] = {}
    for key, values in data.lists():
        problem = text_problem(key, nul=nul)
        if problem:
            problems.setdefault(whole, f"a name {problem}")
            continue
        problem = next(filter(None, (text_problem(v, nul=nul) for v in values if isinstance(v, str))), None)
        if problem:
            problems[key[:100]] = problem
        if len(problems) >= MAX_FIELDS_NAMED:
            break
    return problems


def _path_problems(kwargs: dict[str, Any]) -> dict[str, str]:
    problems = {name: text_problem(value) for name, value in kwargs.items() if isinstance(value, str)}
    return {name: problem for name, problem in problems.items() if problem}


def forms_refuse_nul(view: Callable) -> Callable:
    """Marks a page view whose Django forms read every field of its query string and body and
    refuse a NUL next to the field before anything is looked up or written: InputGuardMiddleware
    leaves a NUL there to them (it still refuses a lone surrogate, and any bad path parameter)."""
    setattr(view, _FORMS_REFUSE_NUL, True)
    return view


def _wants_json(request: HttpRequest) -> bool:
    # The pages' scripts (autosave, disease search) ask for JSON, and read JSON errors.
    return request.path.startswith(API_PREFIX) or (
        request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    )


def refusal(request: HttpRequest, problems: dict[str, str]) -> HttpResponse:
    """The 400 for bad text: the JSON error shape, or the 400 page with the fields named."""
    if _wants_json(request):
        return error_response(400, MESSAGE, {"fields": problems}, code="invalid")
    named = "; ".join(f"{field} {problem}" for field, problem in problems.items())
    messages.error(request, f"The request was refused: {named}.", fail_silently=True)
    return render(request, "400.html", status=400)


class InputGuardMiddleware:
    """See the module docstring. Before the session middleware, so that a session cookie that
    cannot be a session key (one holding a NUL, which the session table cannot be asked about) is
    dropped, as any key that names no session is: the request goes on without a session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = settings.SESSION_COOKIE_NAME
        if name in request.COOKIES and text_problem(request.COOKIES[name]):
            del request.COOKIES[name]
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict) -> HttpResponse | None:
        problems = _path_problems(kwargs) | self._input_problems(request, view)
        return refusal(request, problems) if problems else None

    def _input_problems(self, request: HttpRequest, view: Callable) -> dict[str, str]:
        nul = not getattr(view, _FORMS_REFUSE_NUL, False)
        problems = form_problems(request.GET, "query", nul=nul)
        # Under /api/ DRF reads the body, with the guarded parsers; elsewhere Django reads forms.
        if request.method == "POST" and not request.path.startswith(API_PREFIX) and _is_form(request):
            problems |= form_problems(request.POST, "body", nul=nul)
        return problems


def _is_form(request: HttpRequest) -> bool:
    return request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}
