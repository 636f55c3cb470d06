from io import StringIO

import pytest
from django.core.management import call_command, get_commands

from apps.accounts.models import ApiToken, User
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects.models import Project, ProjectMembership
from apps.tools.models import MaintainerChange, Tool, ToolMaintainer, ToolVersion, VersionState

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "users": sorted(
            User.objects.values_list("email", "role", "full_name", "password", "is_active")
        ),
        "projects": sorted(
            Project.objects.values_list("id", "name", "description", "colour", "created_by__email")
        ),
        "memberships": sorted(
            ProjectMembership.objects.values_list(
                "content_object__name", "user__email", "permission__codename"
            )
        ),
        "tokens": ApiToken.objects.count(),
        "collections": sorted(
            Collection.objects.values_list("name", "byte_size", "item_count", "updated_at")
        ),
        "items": sorted(
            CollectionItem.objects.values_list("key", "value", "created_at", "updated_at")
        ),
        "tools": sorted(
            Tool.objects.values_list(
                "slug", "project__name", "owner__email", "is_published", "updated_at"
            )
        ),
        "versions": sorted(
            ToolVersion.objects.values_list("tool__slug", "version_number", "state", "content_hash")
        ),
        "maintainers": sorted(
            ToolMaintainer.objects.values_list("content_object__slug", "user__email")
        ),
        "maintainer_changes": MaintainerChange.objects.count(),
    }


DEMO_SLUGS = ["demo-collections", "demo-inputs-file", "demo-next-actions", "demo-settings-test"]


def test_seed_demo_lives_in_the_top_app():
    assert get_commands()["seed_demo"] == "apps.sandbox"


def test_seed_demo_twice_leaves_the_same_data():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first
    assert len(first["users"]) == 4
    assert {role for _, role, *_ in first["users"]} == {"user", "contributor", "admin", "superuser"}
    assert len(first["projects"]) == 3  # two demo projects and a sandbox of the first
    assert len(first["memberships"]) == 8
    # The sandbox has an empty namesake of each of its parent's; `grades` (the second
    # project's) has none, so API v1 finds it by name (docs/api.md).
    assert [name for name, *_ in first["collections"]] == [
        "books", "books", "classes", "classes", "grades", "runs-log", "runs-log"
    ]  # fmt: skip
    assert len(first["items"]) == 12
    # Each demo tool and its copy in the sandbox.
    assert [slug for slug, *_ in first["tools"]] == sorted(DEMO_SLUGS * 2)
    # Per tool: v1 reviewed then archived, v2 its ACTIVE copy, v3 the draft head; the sandbox
    # copy has one draft (its head).
    assert [
        (number, state) for slug, number, state, _ in first["versions"] if slug == DEMO_SLUGS[0]
    ] == [
        (1, "archived"),
        (1, "draft"),
        (2, "active"),
        (3, "draft"),
    ]
    assert len(first["versions"]) == 4 * len(DEMO_SLUGS)
    assert "password: " in out.getvalue()
    for slug in DEMO_SLUGS:
        assert f"  tool         {slug} (Reading lists)" in out.getvalue()
    assert "  collection   runs-log (Reading lists)" in out.getvalue()
    assert "  collection   grades (Grading helpers)" in out.getvalue()


def test_seed_demo_tools_are_published_with_an_active_version_and_a_draft_head():
    call_command("seed_demo", stdout=StringIO())
    contributor = User.objects.get(email="contributor@demo.skriptoteket.test")
    published = Tool.objects.filter(project__parent__isnull=True)
    for tool in published.select_related("active_version", "draft_head", "project"):
        assert tool.project.name == "Reading lists"
        assert tool.is_published
        assert tool.owner == contributor
        assert tool.active_version is not None
        assert tool.active_version.state == VersionState.ACTIVE
        assert tool.draft_head is not None
        assert tool.draft_head.state == VersionState.DRAFT
        assert tool.draft_head.content_hash == tool.active_version.content_hash
        assert tool.professions.exists() and tool.categories.exists()
        maintainers = set(tool.maintainers.values_list("user__email", flat=True))
        assert maintainers == {
            "contributor@demo.skriptoteket.test",
            "admin@demo.skriptoteket.test",
        }
    next_actions = published.get(slug="demo-next-actions").active_version
    assert next_actions is not None
    assert next_actions.input_schema[0]["name"] == "files"
    settings_tool = published.get(slug="demo-settings-test").active_version
    assert settings_tool is not None
    assert settings_tool.settings_schema[0]["name"] == "theme_color"


def test_seed_demo_restores_demo_roles_that_were_changed():
    call_command("seed_demo", stdout=StringIO())
    first = snapshot()
    contributor = User.objects.get(email="contributor@demo.skriptoteket.test")
    contributor.role = "user"
    contributor.save(update_fields=["role"])
    ProjectMembership.objects.filter(user=contributor).delete()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first


def test_seed_demo_provisions_a_sandbox_of_the_first_project():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    sandbox = Project.objects.get(name="Reading lists (staging)")
    assert sandbox.parent is not None and sandbox.parent.name == "Reading lists"
    copies = Tool.objects.filter(project=sandbox)
    assert sorted(copies.values_list("slug", flat=True)) == DEMO_SLUGS
    assert all(copy.origin is not None and not copy.is_published for copy in copies)
    namesakes = Collection.objects.filter(project=sandbox)
    assert sorted(namesakes.values_list("name", flat=True)) == ["books", "classes", "runs-log"]
    assert {c.item_count for c in namesakes} == {0}
    assert "  sandbox      Reading lists (staging) (sandbox of Reading lists)" in out.getvalue()
