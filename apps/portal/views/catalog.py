"""The tool catalog (`/tools/`): the published tools of the user's projects, searchable as you
type, filtered by project, profession and category, with favorites and recently used tools.
Also `/`, which lands people who run tools here and authors on their projects.

The page is a GET form that works without JavaScript; static/js/portal/catalog.js fetches the
results fragment (`/tools/results`, same query string) as you type and swaps it in."""

import uuid
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Page, Paginator
from django.db.models import Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role, User
from apps.portal.views.catalog_cards import CardMaker, card_rows
from apps.projects import access as projects_access
from apps.projects.models import Project
from apps.runs.models import RunContext, ToolRun
from apps.tools import access as tools_access
from apps.tools import queries as tools_queries
from apps.tools import services as tools_services
from apps.tools.exceptions import ToolNotFound
from apps.tools.models import Category, Profession, Tool

# Cards per page: 1,000 tools are 34 pages, and a page costs the same whatever the total.
PAGE_SIZE = 30
MAX_PAGE = 100_000
# Longer terms are refused (400): the input stops at this length, so only crafted URLs get there.
MAX_SEARCH_LENGTH = 100
# Every word is two indexed semi-joins (tools.queries.matching_all_words); this bounds the query.
MAX_SEARCH_WORDS = 6
FAVORITES_SHOWN = 30
RECENTLY_USED_SHOWN = 5
CHOICE_ERROR = {"invalid_choice": "Choose one of the listed options."}
FILTERS = ("project", "profession", "category", "favorites")


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """`/`: authors (contributor and up) land on their projects, everyone else on the catalog."""
    if authenticated_user(request).has_role(Role.CONTRIBUTOR):
        return redirect("projects:project-list")
    return redirect("portal:catalog")


@login_required
@require_safe
def catalog(request: HttpRequest) -> HttpResponse:
    return _render_catalog(request, "portal/catalog.html")


@login_required
@require_safe
def catalog_results(request: HttpRequest) -> HttpResponse:
    """The results part of the catalog page alone, for catalog.js."""
    return _render_catalog(request, "portal/_catalog_results.html")


@login_required
@require_POST
def tool_favorite(request: HttpRequest, tool_id: uuid.UUID) -> HttpResponse:
    """Star (`favorite=1`) or unstar (`favorite=0`) a tool; idempotent. JSON for catalog.js,
    else back to the catalog page the form was on."""
    user = authenticated_user(request)
    favorite = request.POST.get("favorite")
    if favorite not in ("0", "1"):
        raise BadRequest("favorite must be 0 or 1.")
    try:
        tool = tools_access.get_published_tool_for_user(user=user, tool_id=tool_id)
    except ToolNotFound as exc:
        raise Http404(exc.message) from exc
    change = tools_services.add_favorite if favorite == "1" else tools_services.remove_favorite
    change(user=user, tool=tool)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"tool_id": str(tool.pk), "is_favorite": favorite == "1"})
    verb = "added to" if favorite == "1" else "removed from"
    messages.success(request, f"“{tool.title}” {verb} your favorites.")
    return redirect(_next_url(request))


# --- The filter form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterOptions:
    """What the filters offer: the user's projects that have a published tool, and every
    profession and category."""

    projects: list[Project]
    professions: list[Profession]
    categories: list[Category]


class CatalogFilterForm(forms.Form):
    # CharField refuses NUL characters itself (ProhibitNullCharactersValidator).
    q = forms.CharField(label="Search", required=False, max_length=MAX_SEARCH_LENGTH)
    project = forms.ChoiceField(required=False, error_messages=CHOICE_ERROR)
    profession = forms.ChoiceField(required=False, error_messages=CHOICE_ERROR)
    category = forms.ChoiceField(required=False, error_messages=CHOICE_ERROR)
    favorites = forms.ChoiceField(
        required=False, choices=[("", "All"), ("1", "Only favorites")], error_messages=CHOICE_ERROR
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def __init__(self, data: Any, *, options: FilterOptions) -> None:
        super().__init__(data)
        # Choices from the lists already read for the page: validating costs no query, and an
        # id of a project the user cannot see is refused exactly like one that does not exist.
        self._offer("project", [(str(p.pk), p.name) for p in options.projects])
        self._offer("profession", [(p.slug, p.label) for p in options.professions])
        self._offer("category", [(c.slug, c.label) for c in options.categories])

    def _offer(self, name: str, options: list[tuple[str, str]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = [("", "All"), *options]

    def clean_q(self) -> str:
        words = self.cleaned_data["q"].split()
        if len(words) > MAX_SEARCH_WORDS:
            raise forms.ValidationError(f"Search for at most {MAX_SEARCH_WORDS} words.")
        return " ".join(words)

    @property
    def words(self) -> list[str]:
        return str(self.cleaned_data["q"]).split()

    @property
    def has_filters(self) -> bool:
        """Whether a project, profession, category or the favorites filter is chosen."""
        return any(self.cleaned_data[name] for name in FILTERS)

    @property
    def narrows(self) -> bool:
        """Anything that makes the list shorter than all tools."""
        return bool(self.cleaned_data["q"]) or self.has_filters

    @property
    def only_favorites(self) -> bool:
        return bool(self.cleaned_data["favorites"]) and not any(
            self.cleaned_data[name] for name in ("q", "project", "profession", "category")
        )


def _filter_options(published: QuerySet[Tool]) -> FilterOptions:
    # Professions and categories are short global lists: all of them are offered (a choice
    # without tools says so), which costs two small reads instead of two joins per request.
    return FilterOptions(
        projects=list(
            Project.objects.filter(pk__in=published.values("project_id")).order_by("name", "pk")
        ),
        professions=list(Profession.objects.order_by("label", "pk")),
        categories=list(Category.objects.order_by("label", "pk")),
    )


# --- Reading the catalog -----------------------------------------------------------------------


def _render_catalog(request: HttpRequest, template: str) -> HttpResponse:
    user = authenticated_user(request)
    published = tools_access.published_tools_visible_to(user)
    options = _filter_options(published)
    form = CatalogFilterForm(request.GET, options=options)
    context: dict[str, Any] = {
        "form": form,
        "options": options,
        "limits": {"search_length": MAX_SEARCH_LENGTH, "search_words": MAX_SEARCH_WORDS},
    }
    if not form.is_valid():
        context["values"] = {name: form.cleaned_data.get(name, "") for name in form.fields}
        return render(request, template, context, status=400)
    context["values"] = form.cleaned_data
    context.update(_catalog_content(request, user, published, form, options))
    return render(request, template, context)


def _catalog_content(
    request: HttpRequest,
    user: User,
    published: QuerySet[Tool],
    form: CatalogFilterForm,
    options: FilterOptions,
) -> dict[str, Any]:
    # A search runs once: one query reads the ids of every match in order (no more than the
    # user's tools), a second the rows of the cards shown. COUNT plus LIMIT would run it twice.
    ids = list(_narrowed(published, form, user).values_list("pk", flat=True))
    page = Paginator(ids, PAGE_SIZE).get_page(form.cleaned_data["page"])
    # Favorites and recently used sit above the full list only: a search shows results alone.
    landing = not form.narrows and page.number == 1
    favorites = _favorites(user, published) if landing else []
    recent_ids = _recently_used_ids(user, published) if landing else []
    # Every id here came out of `published`, the access-checked set of this request.
    rows = {
        tool.pk: tool
        for tool in card_rows(Tool.objects.all(), user).filter(
            pk__in=[*page.object_list, *recent_ids]
        )
    }
    cards = CardMaker(
        options.professions, options.categories, catalog_url=reverse("portal:catalog")
    )
    return {
        "page": page,
        "cards": cards.for_tools([rows[pk] for pk in page.object_list if pk in rows]),
        "landing": landing,
        "favorites": cards.for_tools(favorites[:FAVORITES_SHOWN]),
        "more_favorites": len(favorites) > FAVORITES_SHOWN,
        "recent": cards.for_tools([rows[pk] for pk in recent_ids if pk in rows]),
        "empty": _empty_reason(user, page, form, options),
        "has_filters": form.has_filters,
        "catalog_url": cards.catalog_url,
        # Where the star forms return to: the catalog page with this query (also when this
        # is the results fragment).
        "this_url": cards.catalog_url + (f"?{request.GET.urlencode()}" if request.GET else ""),
        "page_query": _query_without_page(request),
    }


def _favorites(user: User, published: QuerySet[Tool]) -> list[Tool]:
    """The user's starred tools by title; one more than shown, to know whether there are more."""
    starred = card_rows(published.filter(favorites__user=user), user).order_by("title", "pk")
    return list(starred[: FAVORITES_SHOWN + 1])


def _narrowed(tools: QuerySet[Tool], form: CatalogFilterForm, user: User) -> QuerySet[Tool]:
    data = form.cleaned_data
    if data["project"]:
        tools = tools.filter(project_id=data["project"])
    if data["profession"]:
        tools = tools.filter(professions__slug=data["profession"])
    if data["category"]:
        tools = tools.filter(categories__slug=data["category"])
    if data["favorites"]:
        tools = tools.filter(favorites__user=user)
    if form.words:
        return tools_queries.matching_all_words(tools, form.words)
    return tools.order_by("title", "pk")


def _recently_used_ids(user: User, published: QuerySet[Tool]) -> list[uuid.UUID]:
    """The distinct tools of the user's newest production runs, newest first (runs_mine index)."""
    newest = (
        ToolRun.objects.filter(
            requested_by=user, context=RunContext.PRODUCTION, tool__in=published.values("pk")
        )
        .values("tool_id")
        .annotate(last_run=Max("requested_at"))
        .order_by("-last_run")[:RECENTLY_USED_SHOWN]
    )
    return [row["tool_id"] for row in newest]


def _empty_reason(
    user: User, page: Page[uuid.UUID], form: CatalogFilterForm, options: FilterOptions
) -> str:
    """Why there is nothing to list, so the page can say what to do about it ("" = not empty)."""
    if page.paginator.count:
        return ""
    if not options.projects:
        # No published tool at all: because the user is in no project, or none has one yet.
        if user.has_role(Role.ADMIN) or projects_access.projects_visible_to(user).exists():
            return "no_tools"
        return "no_projects"
    if form.only_favorites:
        return "no_favorites"
    return "no_matches"


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _next_url(request: HttpRequest) -> str:
    """The catalog page the star form was on (same host only), else the catalog."""
    target = str(request.POST.get("next", ""))
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:catalog")
