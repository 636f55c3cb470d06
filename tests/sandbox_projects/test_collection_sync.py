"""The collection sync jobs (SPEC §8): a collection created in a project appears, empty, in every
live descendant once the creation commits (a Celery task sent on commit), and a beat job repairs
what a lost task missed. Both are additive and idempotent, also when two run at once."""

from collections.abc import Iterator

import pytest
from django.db import transaction

from apps.kvcollections import services as collections
from apps.kvcollections.exceptions import CollectionExists
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects import services as project_services
from apps.projects.models import Project
from apps.sandbox_projects import services
from apps.sandbox_projects.tasks import (
    sync_all_sandbox_collections_task,
    sync_collections_to_descendants_task,
)
from skriptoteket.celery import app as celery_app
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """`.delay` runs the task inline (no broker), raising what it raises."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def tree(alice, project):
    """project > sandbox > nested, plus a second sandbox that is scheduled for deletion."""
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try")
    nested = services.provision_sandbox(parent=sandbox, actor=alice, name="Nested")
    doomed = services.provision_sandbox(parent=project, actor=alice, name="Doomed")
    project_services.schedule_project_deletion(project=doomed, actor=alice)
    return {"sandbox": sandbox, "nested": nested, "doomed": doomed}


def names(project):
    return sorted(Collection.objects.filter(project=project).values_list("name", flat=True))


def namesake(project, name):
    return Collection.objects.get(project=project, name=name)


# --- On commit -----------------------------------------------------------------------------------


def test_a_new_collection_reaches_every_live_descendant_once_committed(
    project, tree, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        collections.create_collection(project=project, name="books")
    assert len(callbacks) == 1
    for live in ("sandbox", "nested"):
        books = namesake(tree[live], "books")
        assert (books.item_count, books.byte_size) == (0, 0)
    assert names(tree["doomed"]) == []  # scheduled for deletion: skipped


def test_nothing_happens_before_the_commit(project, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        collections.create_collection(project=project, name="books")
    assert len(callbacks) == 1
    assert names(tree["sandbox"]) == [] and names(tree["nested"]) == []
    # The callback sends the task; running the task itself does the work.
    assert sync_collections_to_descendants_task(str(project.pk)) == 2
    assert names(tree["sandbox"]) == ["books"] and names(tree["nested"]) == ["books"]


def test_a_rolled_back_creation_sends_nothing(project, tree, django_capture_on_commit_callbacks):
    def create_then_undo():
        with transaction.atomic():
            collections.create_collection(project=project, name="books")
            raise RuntimeError("undo")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            create_then_undo()
        collections.create_collection(project=project, name="books-2")
        with pytest.raises(CollectionExists):
            collections.create_collection(project=project, name="books-2")
    assert len(callbacks) == 1  # only the first books-2 committed
    assert names(project) == ["books-2"]


def test_the_collections_api_starts_the_sync(
    alice, project, tree, api_client_for, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(alice).post(
            f"/api/v1/projects/{project.pk}/collections", {"name": "scores"}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert names(tree["sandbox"]) == ["scores"] and names(tree["nested"]) == ["scores"]


def test_existing_namesakes_keep_their_items_and_identity(
    project, tree, eager_celery, django_capture_on_commit_callbacks
):
    sandbox = tree["sandbox"]
    with django_capture_on_commit_callbacks(execute=True):
        mine = collections.create_collection(project=sandbox, name="books")
    collections.put_item(collection=mine, key="k", value='"mine"')
    with django_capture_on_commit_callbacks(execute=True):
        collections.create_collection(project=project, name="books")
    after = namesake(sandbox, "books")
    assert (after.pk, after.item_count) == (mine.pk, 1)
    assert CollectionItem.objects.get(collection=after).value == '"mine"'
    assert names(tree["nested"]) == ["books"]


def test_the_sync_goes_down_never_up_and_never_deletes(
    project, tree, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        collections.create_collection(project=tree["nested"], name="only-nested")
        collections.create_collection(project=tree["sandbox"], name="only-sandbox")
    assert names(project) == []
    assert names(tree["sandbox"]) == ["only-sandbox"]
    assert names(tree["nested"]) == ["only-nested", "only-sandbox"]
    assert services.sync_all_sandbox_collections() == 0
    assert names(tree["nested"]) == ["only-nested", "only-sandbox"]


def test_a_second_run_creates_nothing(project, tree):
    for name in ("a", "b"):
        Collection.objects.create(project=project, name=name)  # no signal: a lost task
    assert services.sync_collections_to_descendants(project_id=project.pk) == 4
    assert services.sync_collections_to_descendants(project_id=project.pk) == 0
    assert names(tree["nested"]) == ["a", "b"]


def test_collections_a_merge_creates_reach_the_targets_other_sandboxes(
    alice, project, tree, eager_celery, django_capture_on_commit_callbacks
):
    sandbox, nested = tree["sandbox"], tree["nested"]
    sibling = services.provision_sandbox(parent=project, actor=alice, name="Sibling")
    Collection.objects.create(project=nested, name="found-deep")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.merge_sandbox(source=nested, target=sandbox, actor=alice)
    assert len(callbacks) == 1
    assert names(sandbox) == ["found-deep"]
    assert names(sibling) == [] and names(project) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.merge_sandbox(source=sandbox, target=project, actor=alice)
    assert names(project) == ["found-deep"]
    assert names(sibling) == ["found-deep"]
    assert names(tree["doomed"]) == []


def test_a_merge_that_creates_no_collection_starts_no_sync(
    alice, project, tree, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.merge_sandbox(source=tree["sandbox"], target=project, actor=alice)
    assert callbacks == []


# --- The beat job --------------------------------------------------------------------------------


def test_the_beat_job_reaches_nested_sandboxes_top_down_in_one_pass(alice, project, tree):
    deepest = services.provision_sandbox(parent=tree["nested"], actor=alice, name="Deepest")
    Collection.objects.create(project=project, name="late")  # its task was lost
    Collection.objects.create(project=tree["sandbox"], name="mid")  # so was this one
    assert sync_all_sandbox_collections_task() == 5
    assert names(tree["sandbox"]) == ["late", "mid"]
    assert names(tree["nested"]) == ["late", "mid"]
    assert names(deepest) == ["late", "mid"]
    assert names(tree["doomed"]) == []
    assert names(project) == ["late"]
    assert sync_all_sandbox_collections_task() == 0


def test_the_beat_job_skips_live_sandboxes_under_a_scheduled_one(alice, project, tree):
    below = services.provision_sandbox(parent=tree["sandbox"], actor=alice, name="Below")
    project_services.schedule_project_deletion(project=tree["sandbox"], actor=alice)
    Project.objects.filter(pk=below.pk).update(deletion_scheduled_at=None)  # e.g. restored
    Collection.objects.create(project=project, name="late")
    assert services.sync_all_sandbox_collections() == 0
    assert names(below) == []


# --- Twice at once -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_give_exactly_one_namesake(alice, project):
    sandboxes = [
        services.provision_sandbox(parent=project, actor=alice, name=f"S{i}") for i in range(3)
    ]
    for i in range(20):
        Collection.objects.create(project=project, name=f"c{i:02}")
    results = run_together(
        lambda: services.sync_collections_to_descendants(project_id=project.pk),
        lambda: services.sync_collections_to_descendants(project_id=project.pk),
        services.sync_all_sandbox_collections,
    )
    assert [kind for kind, _ in results] == ["ok"] * 3, results
    assert sum(created for _, created in results) == 60
    for sandbox in sandboxes:
        assert names(sandbox) == [f"c{i:02}" for i in range(20)]
    assert Collection.objects.count() == 80
