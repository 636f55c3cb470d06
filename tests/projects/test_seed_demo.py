from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import ApiToken, User
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects.models import Project, ProjectMembership

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
    }


def test_seed_demo_twice_leaves_the_same_data():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first
    assert len(first["users"]) == 4
    assert {role for _, role, *_ in first["users"]} == {"user", "contributor", "admin", "superuser"}
    assert len(first["projects"]) == 2
    assert len(first["memberships"]) == 5
    assert [name for name, *_ in first["collections"]] == ["books", "classes"]
    assert len(first["items"]) == 10
    assert "password: " in out.getvalue()


def test_seed_demo_restores_demo_roles_that_were_changed():
    call_command("seed_demo", stdout=StringIO())
    first = snapshot()
    contributor = User.objects.get(email="contributor@demo.skriptoteket.test")
    contributor.role = "user"
    contributor.save(update_fields=["role"])
    ProjectMembership.objects.filter(user=contributor).delete()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first
