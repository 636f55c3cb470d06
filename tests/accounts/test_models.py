import pytest
from django.db import IntegrityError

from apps.accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "is_staff", "is_superuser"),
    [
        (Role.USER, False, False),
        (Role.CONTRIBUTOR, False, False),
        (Role.ADMIN, True, False),
        (Role.SUPERUSER, True, True),
    ],
)
def test_admin_flags_follow_the_global_role(role, is_staff, is_superuser):
    user = UserFactory()
    user.role = role
    user.save(update_fields=["role"])
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (is_staff, is_superuser)


def test_the_database_refuses_flags_that_disagree_with_the_role():
    user = UserFactory()
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(is_staff=True)


def test_emails_are_unique_regardless_of_case():
    UserFactory(email="same@example.com")
    other = UserFactory(email="other@example.com")
    with pytest.raises(IntegrityError):
        # .update() skips save()'s lower-casing; the case-insensitive constraint still holds.
        User.objects.filter(pk=other.pk).update(email="SAME@example.com")


def test_roles_are_ordered():
    user = UserFactory(contributor=True)
    assert user.has_role(Role.USER)
    assert user.has_role(Role.CONTRIBUTOR)
    assert not user.has_role(Role.ADMIN)


def test_createsuperuser_path_yields_the_superuser_role():
    user = User.objects.create_superuser("root@example.com", "pw", is_staff=True, is_superuser=True)
    assert (user.role, user.is_staff, user.is_superuser) == (Role.SUPERUSER, True, True)
