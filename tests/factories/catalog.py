"""Published tools as the catalog lists them, made quickly: the rows publishing leaves behind (an
ACTIVE version, professions and categories, `is_published`) written without the draft, lock and
review round trip. `tests.factories.runs.published_tool` goes through the real services."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from apps.accounts.models import User
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.tools.models import Category, Profession, Tool, ToolVersion, VersionState
from tests.factories.accounts import UserFactory
from tests.factories.projects import make_project
from tests.factories.tools import SOURCE


@dataclass(frozen=True)
class DemoEntry:
    title: str
    summary: str
    instructions: str
    professions: tuple[str, ...]
    categories: tuple[str, ...]


# Tools of the original script bank (skriptoteket-behaviour.md §8), Swedish and English.
DEMO_ENTRIES = [
    DemoEntry(
        "Mejllista för vårdnadshavare",
        "Hittar vårdnadshavarnas e-postadresser i klasslistor och gör en lista för BCC.",
        "Ladda upp en till tio klasslistor (CSV, TXT eller XLSX). Verktyget tar bort dubbletter.",
        ("teacher", "mentor"),
        ("communication",),
    ),
    DemoEntry(
        "Markdown to Word",
        "Converts Markdown files to DOCX with a chosen style profile.",
        "Upload one to ten .md files, pick a profile and optionally a comparison variant.",
        ("teacher",),
        ("documents",),
    ),
    DemoEntry(
        "Gruppgeneratorn",
        "Skapar slumpade elevgrupper och undviker par som redan arbetat ihop.",
        "Spara dina klasser under Inställningar. Gruppstorlek anges i formuläret.",
        ("teacher", "mentor"),
        ("planning",),
    ),
    DemoEntry(
        "HTML to PDF preview",
        "Previews uploaded HTML, then renders it as PDF.",
        "Step one shows the page in a sandboxed frame; step two converts with WeasyPrint.",
        ("administrator",),
        ("documents",),
    ),
    DemoEntry(
        "Yrkesgeneratorn",
        "Lekfull generator: vad blir du när du blir stor?",
        "Skriv ditt namn. Knappen Slumpa igen ger ett nytt yrke; ett diplom sparas som PDF.",
        ("mentor",),
        ("fun",),
    ),
]
TAXONOMY_LABELS = {
    "teacher": "Teacher",
    "mentor": "Mentor",
    "administrator": "Administrator",
    "communication": "Communication",
    "documents": "Documents",
    "planning": "Planning",
    "fun": "Fun",
}


def profession(slug: str) -> Profession:
    return Profession.objects.get_or_create(
        slug=slug, defaults={"label": TAXONOMY_LABELS.get(slug, slug.title())}
    )[0]


def category(slug: str) -> Category:
    return Category.objects.get_or_create(
        slug=slug, defaults={"label": TAXONOMY_LABELS.get(slug, slug.title())}
    )[0]


def make_catalog_tool(
    project: Project,
    *,
    title: str,
    summary: str = "",
    instructions: str = "",
    professions: tuple[str, ...] = ("teacher",),
    categories: tuple[str, ...] = ("planning",),
    published: bool = True,
    active: bool = True,
    owner: User | None = None,
) -> Tool:
    """A tool of `project` with an ACTIVE version holding `instructions`, listed when
    `published` (and `active`)."""
    owner = owner or UserFactory(contributor=True)
    tool_id = uuid.uuid4()
    tool = Tool.objects.create(
        id=tool_id,
        project=project,
        slug=f"tool-{tool_id.hex[:12]}",
        title=title,
        summary=summary,
        owner=owner,
        is_published=published,
    )
    if active:
        tool.active_version = _active_version(tool, owner, instructions)
        tool.save(update_fields=["active_version"])
    tool.professions.set([profession(slug) for slug in professions])
    tool.categories.set([category(slug) for slug in categories])
    return tool


def make_demo_catalog(project: Project) -> dict[str, Tool]:
    """The five script-bank tools in `project`, by title."""
    return {
        entry.title: make_catalog_tool(
            project,
            title=entry.title,
            summary=entry.summary,
            instructions=entry.instructions,
            professions=entry.professions,
            categories=entry.categories,
        )
        for entry in DEMO_ENTRIES
    }


def make_many_catalog_tools(project: Project, count: int, *, prefix: str = "Tool") -> list[Tool]:
    """`count` published tools in a few statements (for scale and query-count tests)."""
    owner = UserFactory(contributor=True)
    ids = [uuid.uuid4() for _ in range(count)]
    tools = Tool.objects.bulk_create(
        Tool(
            id=tool_id,
            project=project,
            slug=f"tool-{tool_id.hex[:12]}",
            title=f"{prefix} {number:04d}",
            summary=f"Summary of {prefix.lower()} number {number}.",
            owner=owner,
            is_published=True,
        )
        for number, tool_id in enumerate(ids)
    )
    versions = ToolVersion.objects.bulk_create(
        _version(tool, owner, f"Instructions for {tool.title}.") for tool in tools
    )
    for tool, version in zip(tools, versions, strict=True):
        tool.active_version = version
    Tool.objects.bulk_update(tools, ["active_version"])
    teacher, planning = profession("teacher"), category("planning")
    Tool.professions.through.objects.bulk_create(
        Tool.professions.through(tool=tool, profession=teacher) for tool in tools
    )
    Tool.categories.through.objects.bulk_create(
        Tool.categories.through(tool=tool, category=planning) for tool in tools
    )
    return tools


def make_production_run(tool: Tool, user: User, requested_at: datetime) -> ToolRun:
    """A finished production run of the tool's active version, requested at `requested_at`."""
    assert tool.active_version is not None
    return ToolRun.objects.create(
        tool=tool,
        version=tool.active_version,
        context=RunContext.PRODUCTION,
        requested_by=user,
        status=RunStatus.SUCCEEDED,
        requested_at=requested_at,
        started_at=requested_at,
        finished_at=requested_at,
        session_context="default",
    )


def _version(tool: Tool, owner: User, instructions: str) -> ToolVersion:
    return ToolVersion(
        tool=tool,
        version_number=1,
        state=VersionState.ACTIVE,
        source_code=SOURCE,
        usage_instructions=instructions,
        content_hash=uuid.uuid4().hex * 2,
        created_by=owner,
    )


def _active_version(tool: Tool, owner: User, instructions: str) -> ToolVersion:
    version = _version(tool, owner, instructions)
    version.save()
    return version


@dataclass
class CatalogWorld:
    uma: User
    otto: User
    cleo: User
    ada: User
    north: Project
    south: Project
    tools: dict[str, Tool]
    secret: Tool


def make_catalog_world() -> CatalogWorld:
    """uma (user) views Skola Norr and its five script-bank tools; otto (user) views Skola Syd
    and its "Närvarolista"; cleo (contributor) owns both; ada is a global admin in neither."""
    uma = UserFactory(email="uma@example.com")
    otto = UserFactory(email="otto@example.com")
    cleo = UserFactory(email="cleo@example.com", contributor=True)
    ada = UserFactory(email="ada@example.com", admin=True)
    north = make_project({cleo: ProjectRole.OWNER, uma: ProjectRole.VIEWER}, name="Skola Norr")
    south = make_project({cleo: ProjectRole.OWNER, otto: ProjectRole.VIEWER}, name="Skola Syd")
    secret = make_catalog_tool(
        south,
        title="Närvarolista",
        summary="Sammanställer frånvaro per klass.",
        instructions="Ladda upp närvarolistor från Skola Syd.",
        professions=("mentor",),
        categories=("planning",),
        owner=cleo,
    )
    return CatalogWorld(
        uma=uma,
        otto=otto,
        cleo=cleo,
        ada=ada,
        north=north,
        south=south,
        tools=make_demo_catalog(north),
        secret=secret,
    )
