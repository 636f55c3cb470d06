"""Benchmark `project_get`: token-authenticated GET /api/v1/projects/{id} vs the bare DRF view.

Target: the project GET serves at least 0.6 times the requests per second of `bench/bare` on the
same gunicorn server, i.e. authentication, throttling, the access check and serialisation cost
no more than the framework floor itself would allow.
"""

from dataclasses import dataclass

from bench import harness

NAME = "project_get"
TARGET_RATIO = 0.6
BENCH_EMAIL = "bench-user@bench.skriptoteket.test"
BENCH_PROJECT_NAME = "Bench project"
TOKEN_NAME = "bench project_get"
# The default user rate (6000/min) would turn most benchmark requests into 429s. A huge rate
# keeps the throttle's code path (a Redis read and write per request) without ever refusing.
# Per second, not per minute: DRF keeps one timestamp per request in the window and pickles the
# whole list on every request, so a one-minute window would grow to (req/s * 60) entries during
# the run (about 3.7 ms per request at 60,000) and later rounds would be slower than earlier ones.
THROTTLE_USER_RATE = "1000000/s"


@dataclass(frozen=True)
class Fixture:
    user_id: int
    project_id: str
    token: str


def seed() -> Fixture:
    """Create (once) the bench user and project; mint a fresh token and revoke older ones."""
    # Imported here: these modules need django.setup(), which harness.setup_django() runs.
    from apps.accounts import services as account_services
    from apps.accounts.models import ApiToken

    user = harness.bench_contributor(BENCH_EMAIL, "Bench User")
    project = harness.bench_project(user, BENCH_PROJECT_NAME)
    # Old bench tokens are useless (their secrets were never stored); keep the table tidy.
    for old in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        account_services.revoke_api_token(token=old)
    _, secret = account_services.create_api_token(user=user, name=TOKEN_NAME, expires_in_days=1)
    return Fixture(user_id=user.pk, project_id=str(project.pk), token=secret)


def verify(
    server: harness.Server, project_case: harness.Case, bare_case: harness.Case, fixture: Fixture
) -> None:
    """Both endpoints must answer 200 with the expected body before we time them."""
    status, body = harness.get_json(server, project_case)
    if status != 200 or not isinstance(body, dict) or body.get("id") != fixture.project_id:
        raise harness.BenchError(
            f"{project_case.path} answered {status} {body!r}; "
            f"expected 200 with id {fixture.project_id}"
        )
    if body.get("role") != "owner":
        raise harness.BenchError(
            f"{project_case.path} reports role {body.get('role')!r}, expected 'owner'"
        )
    status, body = harness.get_json(server, bare_case)
    if status != 200 or body != {"message": "ok"}:
        raise harness.BenchError(f"{bare_case.path} answered {status} {body!r}")
    print(f"  verified: {project_case.path} -> 200 (id matches), {bare_case.path} -> 200")


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: token GET /api/v1/projects/{{id}} vs bare DRF view")
    harness.setup_django()
    fixture = seed()
    harness.close_db_connections()
    project_case = harness.Case(
        "project_get",
        f"/api/v1/projects/{fixture.project_id}",
        {"Authorization": f"Bearer {fixture.token}"},
    )
    bare_case = harness.Case("bare", "/bench/bare")
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    print(
        f"  server env: API_THROTTLE_USER={THROTTLE_USER_RATE} "
        "(the default 6000/min would throttle the load; the throttle code still runs)"
    )
    with harness.gunicorn_server(NAME, overrides) as server:
        print(f"  gunicorn: {server.workers} sync workers at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        verify(server, project_case, bare_case, fixture)
        comparison = harness.compare(server, project_case, bare_case, options)
        return harness.write_result(
            NAME,
            comparison,
            TARGET_RATIO,
            server,
            options,
            notes={"project_id": fixture.project_id, "user_id": fixture.user_id},
        )
