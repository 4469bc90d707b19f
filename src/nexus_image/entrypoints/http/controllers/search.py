"""Searching images: the caller's own (`/images/search`) and the public gallery (`/gallery/search`)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from msgspec import Struct

from nexus_image.application.search import SearchImages, SearchResults
from nexus_image.domain.parameters import FieldDescription, Kind, Mode, search_fields
from nexus_image.domain.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH, SearchQuery, SearchSort
from nexus_image.entrypoints.http.controllers.images import respond
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.schemas import ImageResponse


def _choice(name: str, values: list[str]) -> Any:
    return Parameter(
        description=f"Only images of this {name}: {', '.join(values)}", schema_extra={"enum": values}
    )


Words = Annotated[
    str | None,
    Parameter(
        description=f"Words of the prompt (at most {MAX_QUERY_LENGTH} characters), all of which must match: "
        "a word matches its other forms (`foxes` finds `fox`), and from 3 letters on also parts of "
        "words (`drag` finds `dragon`). English stop words match only inside words."
    ),
]
ModeFilter = Annotated[str | None, _choice("mode", [m.value for m in Mode])]
Since = Annotated[
    str | None,
    Parameter(
        description="Created at or after: an ISO 8601 day (`2026-03-01`) or instant (UTC unless it says)"
    ),
]
Until = Annotated[
    str | None,
    Parameter(
        description="Created at or before: an ISO 8601 day (the whole day) or instant (UTC unless it says)"
    ),
]
PublicFilter = Annotated[bool | None, Parameter(description="Only public (true) or private (false) images")]
Sort = Annotated[
    str | None,
    Parameter(
        description="`date` (newest first, the default) or `relevance` (best match first: needs words in q)",
        schema_extra={"enum": [s.value for s in SearchSort]},
    ),
]
Cursor = Annotated[
    str | None,
    Parameter(
        description="`next_cursor` of the previous page, with the same query (else 400 naming `cursor`)"
    ),
]
Limit = Annotated[
    int,
    Parameter(
        description=f"Images per page, 1 to {MAX_LIMIT}", schema_extra={"minimum": 1, "maximum": MAX_LIMIT}
    ),
]


class SearchPage(Struct, kw_only=True):
    """A page of images, as the listings show them, and the cursor of the next page (null: the last)."""

    items: list[ImageResponse]
    next_cursor: str | None


def _filter_type(description: FieldDescription) -> Any:
    """A search filter as a query parameter (its checks are SearchQuery's, whose messages name
    the filter: the schema only documents them)."""
    param, name = description.param, str(description.param.search)
    if param.kind is Kind.CHOICE:
        assert param.choices is not None
        return Annotated[str | None, _choice(name, [c.value for c in param.choices])]
    if param.kind is Kind.INTEGER:
        bounds = {k: int(v) for k, v in (("minimum", param.low), ("maximum", param.high)) if v is not None}
        text = f"Only images of this {name}" + (
            f": {param.low:.0f} to {param.high:.0f}" if len(bounds) == 2 else ""
        )
        return Annotated[int | None, Parameter(description=text, schema_extra=bounds)]
    if param.kind is Kind.ADAPTERS:
        text = f"Only images made with this {name} among their {param.label} (by name)"
        return Annotated[str | None, Parameter(description=text)]
    return Annotated[str | None, Parameter(description=f"Only images of this {name} (by name)")]


Handler = Callable[..., Any]


def with_filters(handler: Handler) -> Handler:
    """`handler` with one query parameter per field images can be found by (`search_fields()`),
    handed to it together as `filters`: a field marked searchable is a filter here, in the
    OpenAPI document and in the studio without being named again."""
    hints = typing.get_type_hints(handler, include_extras=True)
    signature = inspect.signature(handler)
    kept = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "filters"
    ]
    after_words = [p.name for p in kept].index("q") + 1  # the filters follow the words
    before, rest = (
        kept[:after_words],
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept[after_words:]],
    )
    added = [
        inspect.Parameter(
            str(d.param.search), inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_filter_type(d)
        )
        for d in search_fields()
    ]
    names = [p.name for p in added]

    @functools.wraps(handler)
    def gathered(*args: Any, **kwargs: Any) -> Any:
        filters = {name: kwargs.pop(name, None) for name in names}
        return handler(*args, filters=filters, **kwargs)

    parameters = [*before, *added, *rest]
    gathered.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=hints["return"]
    )
    gathered.__annotations__ = {
        **{p.name: p.annotation for p in parameters if p.annotation is not inspect.Parameter.empty},
        "return": hints["return"],
    }
    return gathered


Filters = dict[str, Any]


def page_of(request: Request[Any, Any, Any], found: SearchResults) -> SearchPage:
    return SearchPage(items=[respond(request, view) for view in found.items], next_cursor=found.next_cursor)


class SearchController(Controller):
    tags = ["images"]

    @get(
        "/images/search",
        sync_to_thread=True,
        summary="Search the caller's images",
        responses=problems(404, 422),
    )
    @with_filters
    def mine(
        self,
        request: Request[Any, Any, Any],
        user: str,
        search: SearchImages,
        filters: Filters,
        q: Words = None,
        created_from: Since = None,
        created_to: Until = None,
        favorite: Annotated[
            bool | None, Parameter(description="Only the caller's favorites (or not)")
        ] = None,
        public: PublicFilter = None,
        album: Annotated[
            str | None, Parameter(description="Only the images of this album of the caller's")
        ] = None,
        mode: ModeFilter = None,
        sort: Sort = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SearchPage:
        """The caller's own images whose prompt has the words of `q`, among those the filters keep
        (all of them: AND), a page at a time: `next_cursor` gives the next page. An album that is
        not the caller's answers 404, like a missing one; a bad value 400/422 naming the field."""
        query = SearchQuery.parse(
            q=q,
            created_from=created_from,
            created_to=created_to,
            favorite=favorite,
            public=public,
            album=album,
            mode=mode,
            sort=sort,
            limit=limit,
            **filters,
        )
        return page_of(request, search.mine(user, query, cursor))

    @get("/gallery/search", sync_to_thread=True, summary="Search the public gallery", responses=problems(422))
    @with_filters
    def gallery(
        self,
        request: Request[Any, Any, Any],
        search: SearchImages,
        filters: Filters,
        q: Words = None,
        created_from: Since = None,
        created_to: Until = None,
        public: PublicFilter = None,
        mode: ModeFilter = None,
        sort: Sort = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SearchPage:
        """Public COMPLETED images of every user, searched like `/images/search` (without its
        favorite and album filters); by date, the most recently completed first."""
        query = SearchQuery.parse(
            q=q,
            created_from=created_from,
            created_to=created_to,
            public=public,
            mode=mode,
            sort=sort,
            limit=limit,
            **filters,
        )
        return page_of(request, search.gallery(query, cursor))
