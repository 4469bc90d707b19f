"""Searching images: the caller's own (`/images/search`) and the public gallery (`/gallery/search`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from msgspec import Struct

from nexus_image.application.search import SearchImages, SearchResults
from nexus_image.domain.parameters import MAX_SEED, Mode
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH, SearchQuery, SearchSort
from nexus_image.domain.styles import Style
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
StyleFilter = Annotated[str | None, _choice("style", [s.value for s in Style])]
ResolutionFilter = Annotated[str | None, _choice("resolution", [r.value for r in Resolution])]
ModeFilter = Annotated[str | None, _choice("mode", [m.value for m in Mode])]
ModelFilter = Annotated[str | None, Parameter(description="Only images drawn by this model (by name)")]
LoraFilter = Annotated[str | None, Parameter(description="Only images made with this LoRA adapter (by name)")]
SeedFilter = Annotated[  # bounds checked by SearchQuery, whose message names them
    int | None, Parameter(description=f"0 to {MAX_SEED}", schema_extra={"minimum": 0, "maximum": MAX_SEED})
]
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
    def mine(
        self,
        request: Request[Any, Any, Any],
        user: str,
        search: SearchImages,
        q: Words = None,
        style: StyleFilter = None,
        model: ModelFilter = None,
        lora: LoraFilter = None,
        resolution: ResolutionFilter = None,
        seed: SeedFilter = None,
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
            style=style,
            model=model,
            lora=lora,
            resolution=resolution,
            seed=seed,
            created_from=created_from,
            created_to=created_to,
            favorite=favorite,
            public=public,
            album=album,
            mode=mode,
            sort=sort,
            limit=limit,
        )
        return page_of(request, search.mine(user, query, cursor))

    @get("/gallery/search", sync_to_thread=True, summary="Search the public gallery", responses=problems(422))
    def gallery(
        self,
        request: Request[Any, Any, Any],
        search: SearchImages,
        q: Words = None,
        style: StyleFilter = None,
        model: ModelFilter = None,
        lora: LoraFilter = None,
        resolution: ResolutionFilter = None,
        seed: SeedFilter = None,
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
            style=style,
            model=model,
            lora=lora,
            resolution=resolution,
            seed=seed,
            created_from=created_from,
            created_to=created_to,
            public=public,
            mode=mode,
            sort=sort,
            limit=limit,
        )
        return page_of(request, search.gallery(query, cursor))
