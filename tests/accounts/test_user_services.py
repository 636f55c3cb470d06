"""Who may manage which account: the rule every interface (admin, commands) goes through."""

import pytest

from apps.accounts import services
from apps.accounts.exceptions import AccountProtected, EmailTaken, RoleNotAssignable
from apps.accounts.models import Role, User
from apps.core.exceptions import PermissionDenied, ValidationFailed
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

STAFF = [Role.ADMIN, Role.SUPERUSER]
NON_STAFF = [Role.USER, Role.CONTRIBUTOR]


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admin() -> User:
    return UserFactory(admin=True)


@pytest.fixture
def boss() -> User:
    return UserFactory(superuser=True)


@pytest.mark.parametrize("start", NON_STAFF)
@pytest.mark.parametrize("target", NON_STAFF)
def test_an_admin_moves_accounts_between_user_and_contributor(admin, start, target):
    user = UserFactory(role=start)
    services.set_user_role(actor=admin, user=user, role=target)
    assert fresh(user).role == target


@pytest.mark.parametrize("start", NON_STAFF)
@pytest.mark.parametrize("target", STAFF)
def test_an_admin_cannot_give_a_staff_role(admin, start, target):
    user = UserFactory(role=start)
    with pytest.raises(RoleNotAssignable):
        services.set_user_role(actor=admin, user=user, role=target)
    assert fresh(user).role == start


@pytest.mark.parametrize("start", STAFF)
@pytest.mark.parametrize("target", list(Role))
def test_an_admin_cannot_change_a_staff_account_not_even_their_own(admin, start, target):
    user = admin if start == Role.ADMIN else UserFactory(role=start)
    with pytest.raises(AccountProtected):
        services.set_user_role(actor=admin, user=user, role=target)
    with pytest.raises(AccountProtected):
        services.update_user(actor=admin, user=user, is_active=False)
    with pytest.raises(AccountProtected):
        services.set_user_password(actor=admin, user=user, password="anything at all 1")
    user = fresh(user)
    assert (user.role, user.is_active, user.check_password(PASSWORD)) == (start, True, True)


def test_the_rule_reads_the_row_not_the_callers_copy(admin):
    user = UserFactory()
    stale = fresh(user)
    User.objects.filter(pk=user.pk).update(role=Role.ADMIN, is_staff=True)
    with pytest.raises(AccountProtected):
        services.update_user(actor=admin, user=stale, is_active=False)


@pytest.mark.parametrize("start", list(Role))
@pytest.mark.parametrize("target", list(Role))
def test_a_superuser_and_the_operator_may_give_any_role(boss, start, target):
    for actor in (boss, None):
        user = UserFactory(role=start)
        services.set_user_role(actor=actor, user=user, role=target)
        user = fresh(user)
        assert (user.role, user.is_staff, user.is_superuser) == (
            target,
            target in STAFF,
            target == Role.SUPERUSER,
        )


def test_a_superuser_deactivates_and_sets_passwords_of_staff(boss):
    other = UserFactory(superuser=True)
    services.update_user(actor=boss, user=other, is_active=False)
    services.set_user_password(actor=boss, user=other, password="a new passphrase 42")
    other = fresh(other)
    assert not other.is_active
    assert other.check_password("a new passphrase 42")


def test_an_admin_deactivates_and_sets_passwords_of_users(admin):
    user = UserFactory(contributor=True)
    services.update_user(actor=admin, user=user, is_active=False)
    services.set_user_password(actor=admin, user=user, password=None)
    user = fresh(user)
    assert not user.is_active
    assert not user.has_usable_password()


@pytest.mark.parametrize("role", NON_STAFF)
def test_users_and_contributors_manage_nobody(role):
    actor = UserFactory(role=role)
    user = UserFactory()
    with pytest.raises(PermissionDenied):
        services.update_user(actor=actor, user=user, is_active=False)
    with pytest.raises(PermissionDenied):
        services.set_user_password(actor=actor, user=actor, password="a new passphrase 42")
    with pytest.raises(PermissionDenied):
        services.create_user(actor=actor, email="new@example.com", password=None)


def test_create_user_checks_the_role_against_the_actor(admin, boss):
    for role in STAFF:
        with pytest.raises(RoleNotAssignable):
            services.create_user(actor=admin, email=f"{role}@example.com", password=None, role=role)
    assert services.create_user(
        actor=admin, email="c@example.com", password=None, role=Role.CONTRIBUTOR
    )
    assert services.create_user(actor=boss, email="a@example.com", password=None, role=Role.ADMIN)
    assert not User.objects.filter(email__in=["admin@example.com", "superuser@example.com"])


def test_update_user_validates_email_and_role(boss):
    user = UserFactory(email="dora@example.com")
    UserFactory(email="eve@example.com")
    with pytest.raises(EmailTaken):
        services.update_user(actor=boss, user=user, email="EVE@example.com")
    with pytest.raises(ValidationFailed):
        services.update_user(actor=boss, user=user, email="not an email")
    with pytest.raises(ValidationFailed):
        services.update_user(actor=boss, user=user, role="emperor")
    services.update_user(actor=boss, user=user, email=" Dora.New@Example.com ", full_name="Dora")
    user = fresh(user)
    assert (user.email, user.full_name) == ("dora.new@example.com", "Dora")


def test_domain_errors_are_permission_denied_with_stable_codes():
    assert issubclass(AccountProtected, PermissionDenied)
    assert issubclass(RoleNotAssignable, PermissionDenied)
    assert (AccountProtected.code, RoleNotAssignable.code) == (
        "ACCOUNT_PROTECTED",
        "ROLE_NOT_ASSIGNABLE",
    )
