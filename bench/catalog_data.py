"""The catalog benchmark's data set: 1,000 published tools in 20 projects, a signed-in user.

Every tool has a version history like a real one (one ACTIVE version and nine older ones, each
with its own usage instructions of ~1 KB), one or two professions and categories. The bench user
(global role `user`) is a viewer of all 20 projects, has starred five tools and has 40
production runs, so the landing page does all its work. The rows are written in bulk, as the
services would leave them; a later run reuses them while the counts still match.

Import this module only after harness.setup_django(): it imports Django models.
"""

import itertools
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.models import Role, User
from apps.projects import access as project_access
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.tools.models import Category, Profession, Tool, ToolFavorite, ToolVersion, VersionState
from bench import harness

USER_EMAIL = "bench-catalog-user@bench.skriptoteket.test"
OWNER_EMAIL = "bench-catalog-owner@bench.skriptoteket.test"
PROJECT_PREFIX = "Bench catalog"
PROJECTS = 20
TOOLS_PER_PROJECT = 50
TOOLS = PROJECTS * TOOLS_PER_PROJECT
OLDER_VERSIONS = 9
FAVORITES = 5
RUNS = 40
# What the search cases type: the start of Swedish compounds ("Betygsunderlag"; 49 tools), and
# a word of one instruction sentence that most tools use ("närvaron"; 805 tools).
SEARCH_TERM = "betyg"
BROAD_TERM = "närvaro"

NOUNS = [
    "Närvarolista", "Betygsunderlag", "Gruppgenerator", "Mejllista", "Provrättning", "Läslogg",
    "Omdömesmall", "Klasslista", "Elevenkät", "Schemaläggare", "Report card", "Seating plan",
    "Quiz builder", "Reading log", "Timetable", "Grade export", "Parent letter", "Word to PDF",
    "CSV cleaner", "Rubric maker",
]  # fmt: skip
QUALIFIERS = [
    "för mentorer", "per klass", "till Excel", "för vårdnadshavare", "light", "med diplom",
    "for teachers", "per term", "to Markdown", "with charts",
]  # fmt: skip
SENTENCES = [
    "Ladda upp en eller flera klasslistor som CSV eller XLSX.",
    "Verktyget tar bort dubbletter och sorterar eleverna efter efternamn.",
    "Välj vilken termin underlaget gäller innan du kör.",
    "Resultatet sparas som en fil du kan ladda ner efter körningen.",
    "Upload the export from the school system; the tool reads the header row.",
    "Pick a style profile and the tool writes one document per class.",
    "Settings keep your preferred language and paper size between runs.",
    "If a file cannot be read, the run lists it with the reason and goes on.",
    "Kontrollera närvaron veckovis och markera avvikelser i gult.",
    "The summary table shows one row per student with totals at the bottom.",
    "Spara dina grupper under Inställningar för att undvika samma par igen.",
    "Large files take a few seconds; the page shows progress while it runs.",
]  # fmt: skip
PROFESSIONS = [
    ("teacher", "Teacher"), ("mentor", "Mentor"), ("principal", "Principal"),
    ("counsellor", "Counsellor"), ("administrator", "Administrator"), ("librarian", "Librarian"),
]  # fmt: skip
CATEGORIES = [
    ("attendance", "Attendance"), ("grading", "Grading"), ("planning", "Planning"),
    ("communication", "Communication"), ("documents", "Documents"), ("reading", "Reading"),
    ("surveys", "Surveys"), ("fun", "Fun"),
]  # fmt: skip
SOURCE = (
    "def run_tool(input_dir, output_dir):\n    return 'bench tool {n} v{v}'\n" + "# pad\n" * 150
)


@dataclass(frozen=True)
class Fixture:
    user_id: int
    session_key: str
    project_ids: list[str]
    tools: int
    versions: int

    @property
    def cookie_header(self) -> dict[str, str]:
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}"}


def seed() -> Fixture:
    """Create (once) the users, projects and tools; start a fresh session for the bench user."""
    user = _bench_user()
    owner = harness.bench_contributor(OWNER_EMAIL, "Bench Catalog Owner")
    projects = [
        harness.bench_project(owner, f"{PROJECT_PREFIX} {n:02d}") for n in range(1, PROJECTS + 1)
    ]
    for project in projects:
        project_access.assign_role(user=user, project=project, role=ProjectRole.VIEWER)
    tools = Tool.objects.filter(project__in=projects)
    versions = ToolVersion.objects.filter(tool__project__in=projects)
    expected = (TOOLS, TOOLS * (OLDER_VERSIONS + 1))
    if (tools.filter(is_published=True).count(), versions.count()) == expected:
        print(f"  data set: reused {TOOLS:,} tools with {expected[1]:,} versions")
    else:
        started = time.monotonic()
        _build(projects, owner, user)
        print(f"  data set: built {TOOLS:,} tools in {time.monotonic() - started:.1f}s")
    _analyze()
    return Fixture(
        user_id=user.pk,
        session_key=_session_for(user),
        project_ids=[str(project.pk) for project in projects],
        tools=TOOLS,
        versions=expected[1],
    )


def _bench_user() -> User:
    user = User.objects.filter(email=USER_EMAIL).first()
    if user is None:
        return account_services.create_user(
            actor=None, email=USER_EMAIL, password=None, role=Role.USER, full_name="Bench Reader"
        )
    if user.role != Role.USER:
        account_services.set_user_role(actor=None, user=user, role=Role.USER)
    return user


def _session_for(user: User) -> str:
    """A signed-in session, as the login view would store it (sessions live in PostgreSQL)."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"  # the password one
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


@transaction.atomic
def _build(projects: list[Project], owner: User, user: User) -> None:
    Tool.objects.filter(project__in=projects).delete()
    rng = random.Random(13)  # the same data set on every machine
    professions = _taxonomy(Profession, PROFESSIONS)
    categories = _taxonomy(Category, CATEGORIES)
    tools: list[Tool] = []
    for number, project in enumerate(itertools.islice(itertools.cycle(projects), TOOLS)):
        tools.append(_tool(project, owner, number, rng))
    Tool.objects.bulk_create(tools, batch_size=500)
    versions = [_version(tool, owner, v, rng) for tool in tools for v in range(1, 11)]
    ToolVersion.objects.bulk_create(versions, batch_size=1000)
    for tool, active in zip(tools, versions[OLDER_VERSIONS :: OLDER_VERSIONS + 1], strict=True):
        tool.active_version = active
    Tool.objects.bulk_update(tools, ["active_version"], batch_size=500)
    Tool.professions.through.objects.bulk_create(
        Tool.professions.through(tool=tool, profession=profession)
        for tool in tools
        for profession in rng.sample(professions, rng.randint(1, 2))
    )
    Tool.categories.through.objects.bulk_create(
        Tool.categories.through(tool=tool, category=category)
        for tool in tools
        for category in rng.sample(categories, rng.randint(1, 2))
    )
    _use(user, tools, rng)


def _tool(project: Project, owner: User, number: int, rng: random.Random) -> Tool:
    tool_id = uuid.uuid4()
    noun, qualifier = rng.choice(NOUNS), rng.choice(QUALIFIERS)
    return Tool(
        id=tool_id,
        project=project,
        slug=f"bench-{number:04d}",
        title=f"{noun} {qualifier} {number:04d}",
        summary=f"{noun} {qualifier}: {rng.choice(SENTENCES)} {rng.choice(SENTENCES)}",
        owner=owner,
        is_published=True,
    )


def _version(tool: Tool, owner: User, number: int, rng: random.Random) -> ToolVersion:
    """Versions 1-9 archived (each with older instructions), version 10 ACTIVE."""
    instructions = " ".join(rng.choice(SENTENCES) for _ in range(16))
    return ToolVersion(
        tool=tool,
        version_number=number,
        state=VersionState.ACTIVE if number == OLDER_VERSIONS + 1 else VersionState.ARCHIVED,
        source_code=SOURCE.format(n=tool.slug, v=number),
        usage_instructions=f"## {tool.title}\n\n{instructions}",
        content_hash=uuid.uuid4().hex * 2,
        created_by=owner,
    )


def _taxonomy(model: Any, entries: list[tuple[str, str]]) -> list[Any]:
    return [
        model.objects.get_or_create(slug=slug, defaults={"label": label})[0]
        for slug, label in entries
    ]


def _use(user: User, tools: list[Tool], rng: random.Random) -> None:
    """The bench user's stars and production runs (the landing page's sections)."""
    ToolFavorite.objects.filter(user=user).delete()
    ToolRun.objects.filter(requested_by=user).delete()
    ToolFavorite.objects.bulk_create(
        ToolFavorite(user=user, tool=tool) for tool in rng.sample(tools, FAVORITES)
    )
    now = timezone.now()
    runs = []
    for minutes, tool in enumerate(rng.choices(tools[:50], k=RUNS)):
        at = now - timedelta(minutes=minutes)
        runs.append(
            ToolRun(
                tool=tool,
                version=tool.active_version,
                context=RunContext.PRODUCTION,
                requested_by=user,
                status=RunStatus.SUCCEEDED,
                requested_at=at,
                started_at=at,
                finished_at=at,
                session_context="default",
            )
        )
    ToolRun.objects.bulk_create(runs)


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum would have them after a bulk load."""
    with connection.cursor() as cursor:
        for model in (Tool, ToolVersion, Tool.professions.through, Tool.categories.through):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
