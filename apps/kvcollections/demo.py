"""Demo collections for `make run`: filled once when first created, never rewritten."""

import json

from django.db import transaction

from apps.kvcollections import services
from apps.kvcollections.models import Collection
from apps.projects.models import Project

BOOKS = [
    ("Pippi Longstocking", "Astrid Lindgren", 1945),
    ("The Brothers Lionheart", "Astrid Lindgren", 1973),
    ("The Wonderful Adventures of Nils", "Selma Lagerlöf", 1906),
    ("Moominsummer Madness", "Tove Jansson", 1954),
    ("The Emigrants", "Vilhelm Moberg", 1949),
    ("Doctor Glas", "Hjalmar Söderberg", 1905),
    ("The Red Room", "August Strindberg", 1879),
    ("Gösta Berling's Saga", "Selma Lagerlöf", 1891),
]


GRADES = [
    ("class:7a", {"average": 3.4, "students": 24}),
    ("class:8b", {"average": 3.1, "students": 27}),
]


@transaction.atomic
def seed_demo_collections(*, project_ids: list[str]) -> list[str]:
    """Create `books` and `classes` in the first demo project and `grades` in the second;
    return their names. `grades` is a name only one demo project has, so the API v1 examples of
    docs/api.md can address it by name (the first project's sandbox has namesakes of the rest)."""
    project = Project.objects.get(pk=project_ids[0])
    if not Collection.objects.filter(project=project, name="books").exists():
        books = services.create_collection(project=project, name="books")
        items = [
            (f"book:{index:03}", json.dumps({"title": title, "author": author, "year": year}))
            for index, (title, author, year) in enumerate(BOOKS, start=1)
        ]
        services.put_items(collection=books, items=items)
    if not Collection.objects.filter(project=project, name="classes").exists():
        classes = services.create_collection(project=project, name="classes")
        services.put_items(
            collection=classes,
            items=[
                ("class:7a", json.dumps(["book:001", "book:004"])),
                ("class:8b", json.dumps(["book:005"])),
            ],
        )
    names = [f"{name} ({project.name})" for name in ("books", "classes")]
    return [*names, _ensure_grades(Project.objects.get(pk=project_ids[1]))]


def _ensure_grades(project: Project) -> str:
    if not Collection.objects.filter(project=project, name="grades").exists():
        grades = services.create_collection(project=project, name="grades")
        services.put_items(
            collection=grades, items=[(key, json.dumps(value)) for key, value in GRADES]
        )
    return f"grades ({project.name})"
