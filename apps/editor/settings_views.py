"""The tool settings page (`/tools/<id>/settings`): slug, professions and categories,
maintainers, publishing. Each form calls one existing service of apps.tools.services, which
decides who may do what (slug and taxonomy: the tool's maintainers while it is unpublished,
global admins always; maintainers and publishing: global admins); the page only shows the
fields read-only to those the service would refuse, and puts a refusal at the field it is
about, keeping what was typed.

Who sees the page: those who may edit the tool (its contributor+ maintainers and global
admins). Anyone else gets the same 404 page, whether or not the tool exists."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role, User
from apps.core.exceptions import DomainError, PermissionDenied
from apps.editor.forms import (
    MaintainerAddForm,
    MaintainerRemoveForm,
    PublishForm,
    SlugForm,
    TaxonomyForm,
)
from apps.tools import access as tools_access
from apps.tools import services as tools_services
from apps.tools.exceptions import MaintainerRuleViolated, ToolEditDenied, ToolNotFound
from apps.tools.models import PLACEHOLDER_PREFIX, MaintainerChange, Tool

TEMPLATE = "editor/tool_settings.html"
MAINTAINER_CHANGES_SHOWN = 20


@dataclass(frozen=True)
class Outcome:
    """What a handler did: `done` says so (then the page redirects), else `form` has errors."""

    form: forms.Form
    done: str = ""
    status: int = 400


Handler = Callable[[HttpRequest, Tool, User], Outcome]


@login_required
def tool_settings(request: HttpRequest, tool_id: uuid.UUID) -> HttpResponse:
    user = authenticated_user(request)
    tool = _tool_or_404(user, tool_id)
    bound: dict[str, forms.Form] = {}
    status = 200
    if request.method == "POST":
        name = str(request.POST.get("form", ""))
        handler = HANDLERS.get(name)
        if handler is None:
            messages.error(request, "Unknown settings form: nothing was changed.")
            return render(request, TEMPLATE, _context(tool, user, bound), status=400)
        outcome = handler(request, tool, user)
        if outcome.done:
            messages.success(request, outcome.done)
            url = reverse("editor:tool-settings", args=[tool.pk])
            return redirect(f"{url}#{ANCHORS[name]}")
        bound[name] = outcome.form
        status = outcome.status
    return render(request, TEMPLATE, _context(tool, user, bound), status=status)


def _tool_or_404(user: User, tool_id: uuid.UUID) -> Tool:
    try:
        return tools_access.get_tool_for_user(user=user, tool_id=tool_id, edit=True)
    except (ToolNotFound, ToolEditDenied) as exc:
        # Not "forbidden": someone who may not edit the tool learns nothing about it here.
        raise Http404("Tool not found.") from exc


def _refused(form: forms.Form, field: str | None, error: DomainError) -> Outcome:
    form.add_error(field, error.message)
    return Outcome(form=form, status=403 if isinstance(error, PermissionDenied) else 400)


# --- One handler per form, each calling one service -------------------------------------------


def _slug(request: HttpRequest, tool: Tool, user: User) -> Outcome:
    form = SlugForm(request.POST)
    if not form.is_valid():
        return Outcome(form=form)
    try:
        tool = tools_services.update_slug(tool=tool, actor=user, slug=form.cleaned_data["slug"])
    except DomainError as error:
        return _refused(form, "slug", error)
    return Outcome(form=form, done=f"The slug is now “{tool.slug}”.")


def _taxonomy(request: HttpRequest, tool: Tool, user: User) -> Outcome:
    form = TaxonomyForm(request.POST)
    if not form.is_valid():
        return Outcome(form=form)
    try:
        tools_services.set_taxonomy(
            tool=tool,
            actor=user,
            profession_ids=[item.pk for item in form.cleaned_data["professions"]],
            category_ids=[item.pk for item in form.cleaned_data["categories"]],
        )
    except DomainError as error:
        return _refused(form, None, error)
    return Outcome(form=form, done="Professions and categories saved.")


def _maintainer_add(request: HttpRequest, tool: Tool, user: User) -> Outcome:
    form = MaintainerAddForm(request.POST)
    if not form.is_valid():
        return Outcome(form=form)
    try:
        added = tools_services.assign_maintainer(tool=tool, actor=user, **form.cleaned_data)
    except DomainError as error:
        return _refused(form, "email", error)
    return Outcome(form=form, done=f"{added.email} maintains the tool.")


def _maintainer_remove(request: HttpRequest, tool: Tool, user: User) -> Outcome:
    form = MaintainerRemoveForm(request.POST)
    if not form.is_valid():
        return Outcome(form=form)
    # Only a current maintainer can be removed: look the id up among them, not among all users.
    target = tools_access.maintainers_of(tool).filter(pk=form.cleaned_data["user_id"]).first()
    try:
        if target is None:
            raise MaintainerRuleViolated("This user is not a maintainer of the tool.")
        tools_services.remove_maintainer(
            tool=tool, actor=user, user=target, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        return _refused(form, None, error)
    return Outcome(form=form, done=f"{target.email} no longer maintains the tool.")


def _publisher(publish: bool) -> Handler:
    change = tools_services.publish_tool if publish else tools_services.depublish_tool
    done = "The tool is published." if publish else "The tool is no longer published."

    def handle(request: HttpRequest, tool: Tool, user: User) -> Outcome:
        form = PublishForm(request.POST)
        try:
            change(tool=tool, actor=user)
        except DomainError as error:
            form.is_valid()  # errors can only be added to a cleaned form
            return _refused(form, None, error)
        return Outcome(form=form, done=done)

    return handle


HANDLERS: dict[str, Handler] = {
    "slug": _slug,
    "taxonomy": _taxonomy,
    "maintainer-add": _maintainer_add,
    "maintainer-remove": _maintainer_remove,
    "publish": _publisher(publish=True),
    "depublish": _publisher(publish=False),
}
# The page section each form lives in (the editor's requirement links use the same anchors).
ANCHORS = {
    "slug": "slug",
    "taxonomy": "taxonomy",
    "maintainer-add": "maintainers",
    "maintainer-remove": "maintainers",
    "publish": "publishing",
    "depublish": "publishing",
}


# --- The page ---------------------------------------------------------------------------------


def _context(tool: Tool, user: User, bound: dict[str, forms.Form]) -> dict[str, Any]:
    taxonomy_initial = {
        "professions": list(tool.professions.values_list("pk", flat=True)),
        "categories": list(tool.categories.values_list("pk", flat=True)),
    }
    changes = (
        MaintainerChange.objects.filter(tool=tool)
        .select_related("user", "performed_by")
        .order_by("-performed_at", "-id")[:MAINTAINER_CHANGES_SHOWN]
    )
    return {
        "tool": tool,
        "project": tool.project,
        "is_admin": user.has_role(Role.ADMIN),
        "may_prepare_listing": tools_access.may_prepare_listing(user=user, tool=tool),
        "is_superuser": user.has_role(Role.SUPERUSER),
        "slug_is_placeholder": tool.slug.startswith(PLACEHOLDER_PREFIX),
        "slug_form": bound.get("slug") or SlugForm(initial={"slug": _slug_initial(tool)}),
        "taxonomy_form": bound.get("taxonomy") or TaxonomyForm(initial=taxonomy_initial),
        "maintainer_add_form": bound.get("maintainer-add") or MaintainerAddForm(),
        "maintainer_remove_form": bound.get("maintainer-remove"),
        "publish_form": bound.get("publish") or bound.get("depublish"),
        "maintainers": list(tools_access.maintainers_of(tool)),
        "maintainer_changes": list(changes),
        "has_active_version": tool.active_version_id is not None,
    }


def _slug_initial(tool: Tool) -> str:
    # The placeholder is not a suggestion worth keeping: start the field empty.
    return "" if tool.slug.startswith(PLACEHOLDER_PREFIX) else tool.slug
