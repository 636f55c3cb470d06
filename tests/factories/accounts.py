import factory

from apps.accounts.models import ApiToken, Role, User, hash_token

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = Role.USER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    class Params:
        contributor = factory.Trait(role=Role.CONTRIBUTOR)
        admin = factory.Trait(role=Role.ADMIN)
        superuser = factory.Trait(role=Role.SUPERUSER)

    @factory.post_generation
    def persist_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save(update_fields=["password"])


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A token whose secret is kept on the instance as `.secret` (never stored in the database)."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"token {n}")
    secret = factory.Sequence(lambda n: f"skt_pat_{n:0>43}")
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.secret))
    prefix = factory.LazyAttribute(lambda o: o.secret[:12])

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args: object, **kwargs: object) -> ApiToken:
        secret = kwargs.pop("secret")
        token = super()._create(model_class, *args, **kwargs)
        token.secret = secret  # type: ignore[attr-defined]
        return token
