from apps.projects.models import ProjectRole
from apps.tools import services
from apps.tools.models import Category, Profession, Tool, ToolVersion
from tests.factories.accounts import UserFactory
from tests.factories.projects import make_project

SOURCE = "def run_tool(input_dir, output_dir):\n    return 'hello'\n"


def make_tool(owner=None, **kwargs) -> Tool:
    """A tool made through the service, in a fresh project the owner owns."""
    owner = owner or UserFactory(contributor=True)
    project = kwargs.pop("project", None) or make_project({owner: ProjectRole.OWNER})
    return services.create_tool(
        project=project,
        creator=owner,
        title=kwargs.pop("title", "A tool"),
        summary=kwargs.pop("summary", ""),
    )


def make_draft(tool: Tool, actor, source: str = SOURCE) -> ToolVersion:
    """The first draft of a tool (no head yet, so no lock is needed)."""
    return services.create_draft(
        tool=tool, actor=actor, content=services.ContentEdit(source_code=source)
    )


def make_publishable(tool: Tool) -> Tool:
    tool.slug = f"tool-{str(tool.pk)[:8]}"
    tool.save(update_fields=["slug"])
    tool.professions.add(
        Profession.objects.get_or_create(slug="teacher", defaults={"label": "Teacher"})[0]
    )
    tool.categories.add(
        Category.objects.get_or_create(slug="grading", defaults={"label": "Grading"})[0]
    )
    return tool
