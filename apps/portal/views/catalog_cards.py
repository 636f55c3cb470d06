"""The catalog's cards: what each shows, read in the query that lists the tools and formatted
before the template renders (a page has up to 65 cards, so the template only prints)."""

import uuid
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.http import urlencode

from apps.accounts.models import User
from apps.tools.models import Category, Profession, Tool, ToolFavorite

SUMMARY_SHOWN = 200


@dataclass(frozen=True)
class Chip:
    kind: str  # "profession" or "category": also the query parameter its link sets
    label: str
    href: str


@dataclass(frozen=True)
class Star:
    """The star button of a card: what it shows and what pressing it sends."""

    is_on: bool
    title: str

    @property
    def next_value(self) -> str:
        return "0" if self.is_on else "1"

    @property
    def pressed(self) -> str:
        return "true" if self.is_on else "false"

    @property
    def css(self) -> str:
        return "star on" if self.is_on else "star"

    @property
    def symbol(self) -> str:
        return "★" if self.is_on else "☆"

    @property
    def label(self) -> str:
        if self.is_on:
            return f"Remove “{self.title}” from favorites"
        return f"Add “{self.title}” to favorites"


@dataclass(frozen=True)
class ToolCard:
    """What a card shows."""

    id: uuid.UUID
    title: str
    summary: str
    project_name: str
    chips: list[Chip]
    star: Star
    run_url: str
    favorite_url: str


def card_rows(tools: QuerySet[Tool], user: User) -> QuerySet[Tool]:
    """`tools` with what a card needs in the same query: project, star, taxonomy ids."""
    through = (Tool.professions.through, Tool.categories.through)
    return tools.select_related("project").annotate(
        is_favorite=Exists(ToolFavorite.objects.filter(user=user, tool=OuterRef("pk"))),
        profession_ids=ArraySubquery(
            through[0].objects.filter(tool=OuterRef("pk")).values("profession_id")
        ),
        category_ids=ArraySubquery(
            through[1].objects.filter(tool=OuterRef("pk")).values("category_id")
        ),
    )


class CardMaker:
    """Turns tool rows (from `card_rows`) into cards, with the taxonomy read once per page."""

    def __init__(
        self, professions: list[Profession], categories: list[Category], *, catalog_url: str
    ) -> None:
        self.catalog_url = catalog_url
        self.professions = {
            p.pk: Chip("profession", p.label, self._filter_url("profession", p.slug))
            for p in professions
        }
        self.categories = {
            c.pk: Chip("category", c.label, self._filter_url("category", c.slug))
            for c in categories
        }

    def _filter_url(self, name: str, value: str) -> str:
        return f"{self.catalog_url}?{urlencode({name: value})}"

    def for_tools(self, tools: list[Tool]) -> list[ToolCard]:
        return [self.card(tool) for tool in tools]

    def card(self, tool: Tool) -> ToolCard:
        # In the filters' order (by label); ids of taxonomy rows added since are left out.
        professions, categories = set(tool.profession_ids), set(tool.category_ids)  # type: ignore[attr-defined]
        chips = [chip for pk, chip in self.professions.items() if pk in professions]
        chips += [chip for pk, chip in self.categories.items() if pk in categories]
        summary = tool.summary
        if len(summary) > SUMMARY_SHOWN:
            summary = f"{summary[: SUMMARY_SHOWN - 1]}…"
        return ToolCard(
            id=tool.pk,
            title=tool.title,
            summary=summary,
            project_name=tool.project.name,
            chips=chips,
            star=Star(is_on=tool.is_favorite, title=tool.title),  # type: ignore[attr-defined]
            # portal:tool-run and portal:tool-favorite, built from the catalog's own URL rather
            # than one reverse() per card (tests/portal pin both paths).
            run_url=f"{self.catalog_url}{tool.pk}/run",
            favorite_url=f"{self.catalog_url}{tool.pk}/favorite",
        )
