"""Collection pages, the item browser, the JSON download and the admin, through Django's client."""

import json
import re

import pytest
from django.test import Client
from django.utils.html import escape

from apps.kvcollections import queries, services
from apps.kvcollections.exceptions import PatternTooSlow
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects.models import ProjectRole
from tests.clients import client_for
from tests.factories import CollectionFactory, UserFactory, make_project
from tests.factories.projects import make_role_world

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "admin", "editor", "viewer", "outsider", "anonymous")


@pytest.fixture
def world(alice):
    people, project = make_role_world(alice, name="Field notes")
    grades = CollectionFactory(project=project, name="grades")
    services.put_items(collection=grades, items=[("anna", '{"score": 5}'), ("bert", "3")])
    return {"people": people, "project": project, "grades": grades}


def client_as(persona, world):
    client = Client()
    if persona != "anonymous":
        client.force_login(world["people"][persona])
    return client


def list_url(project):
    return f"/projects/{project.pk}/collections/"


def detail_url(project, name):
    return f"/projects/{project.pk}/collections/{name}/"


def download_url(project, name):
    return f"/download/collections/{project.pk}/{name}"


def names():
    return set(Collection.objects.values_list("name", flat=True))


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def put_many(collection, count, prefix="key"):
    services.put_items(
        collection=collection, items=[(f"{prefix}-{i:03}", f"value {i}") for i in range(count)]
    )


# --- Who sees and does what ----------------------------------------------------------------------


PAGE_STATUS = {
    # persona: (list page, item page, download)
    "owner": (200, 200, 200),
    "admin": (200, 200, 200),
    "editor": (200, 200, 200),
    "viewer": (200, 200, 200),
    "outsider": (404, 404, 404),
    "anonymous": (302, 302, 302),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_pages_and_download_answer_each_persona(persona, world):
    client = client_as(persona, world)
    project = world["project"]
    urls = (list_url(project), detail_url(project, "grades"), download_url(project, "grades"))

    statuses = tuple(client.get(url).status_code for url in urls)

    assert statuses == PAGE_STATUS[persona]
    if persona == "anonymous":
        assert client.get(urls[0])["Location"].startswith("/accounts/login/?next=")
    if persona == "outsider":
        for url in urls:
            assert "Field notes" not in client.get(url).content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_admins_and_owners_get_the_management_controls(persona, world):
    response = client_as(persona, world).get(list_url(world["project"]))
    if response.status_code != 200:
        return
    html = response.content.decode()
    manages = persona in ("owner", "admin")
    assert ('id="create-collection"' in html) is manages
    assert ("Rename…" in html) is manages
    assert ("Delete collection" in html) is manages
    assert ("Only admins and owners create" in html) is not manages
    assert "Download" in html


CREATE_STATUS = {
    "owner": 302,
    "admin": 302,
    "editor": 302,
    "viewer": 302,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_rename_and_delete_by_each_persona(persona, world):
    client = client_as(persona, world)
    project = world["project"]
    allowed = persona in ("owner", "admin")
    list_page = list_url(project)

    created = client.post(list_page, {"name": "notes"}, HTTP_REFERER=list_page)
    renamed = client.post(f"{list_page}grades/rename", {"name": "marks"}, HTTP_REFERER=list_page)
    expected_names = {"notes", "marks"} if allowed else {"grades"}
    assert names() == expected_names
    deleted = client.post(
        f"{list_page}{'marks' if allowed else 'grades'}/delete", HTTP_REFERER=list_page
    )

    for response in (created, renamed, deleted):
        assert response.status_code == CREATE_STATUS[persona]
        if persona in ("editor", "viewer"):
            assert response["Location"] == list_page
    assert names() == ({"notes"} if allowed else {"grades"})
    if persona in ("editor", "viewer"):
        page = client.get(list_page)
        assert "This action needs the project role admin or higher." in messages_of(page)


def test_an_admin_creates_a_collection_and_sees_it_listed(world):
    client = client_for(world["people"]["admin"])
    response = client.post(list_url(world["project"]), {"name": "student-notes"}, follow=True)
    assert response.redirect_chain == [(list_url(world["project"]), 302)]
    assert messages_of(response) == ["Collection “student-notes” created."]
    assert 'data-name="student-notes"' in response.content.decode()
    assert Collection.objects.get(name="student-notes").project == world["project"]


@pytest.mark.parametrize("name", ["Bad Name", "a--b", " padded", "x" * 256, "nul\x00"])
def test_a_bad_name_in_the_create_form_shows_the_rules(world, name):
    response = client_for(world["people"]["owner"]).post(list_url(world["project"]), {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert 'class="errorlist' in response.content.decode()
    assert names() == {"grades"}


def test_a_name_of_255_characters_is_accepted_by_the_form(world):
    client = client_for(world["people"]["owner"])
    assert client.post(list_url(world["project"]), {"name": "n" * 255}).status_code == 302
    assert "n" * 255 in names()


def test_a_duplicate_name_is_reported_as_a_message(world):
    client = client_for(world["people"]["owner"])
    page = list_url(world["project"])
    response = client.post(page, {"name": "grades"}, HTTP_REFERER=page, follow=True)
    assert messages_of(response) == ["A collection with this name already exists in this project."]
    assert Collection.objects.count() == 1


def test_rename_onto_an_existing_name_or_a_bad_name_is_reported(world):
    CollectionFactory(project=world["project"], name="marks")
    client = client_for(world["people"]["owner"])
    page = list_url(world["project"])

    taken = client.post(f"{page}grades/rename", {"name": "marks"}, HTTP_REFERER=page, follow=True)
    bad = client.post(f"{page}grades/rename", {"name": "Marks!"}, follow=True)

    assert messages_of(taken) == ["A collection with this name already exists in this project."]
    assert messages_of(bad)[0].startswith("“grades” was not renamed. Not a URL-safe name.")
    assert names() == {"grades", "marks"}


def test_rename_and_delete_report_success_and_keep_or_remove_items(world):
    client = client_for(world["people"]["owner"])
    page = list_url(world["project"])

    renamed = client.post(f"{page}grades/rename", {"name": "marks"}, follow=True)
    assert messages_of(renamed) == ["Collection “grades” renamed to “marks”."]
    assert CollectionItem.objects.filter(collection__name="marks").count() == 2

    deleted = client.post(f"{page}marks/delete", follow=True)
    assert messages_of(deleted) == ["Collection “marks” deleted with its 2 item(s)."]
    assert not Collection.objects.exists()
    assert not CollectionItem.objects.exists()


def test_managing_an_unknown_collection_is_404(world):
    client = client_for(world["people"]["owner"])
    page = list_url(world["project"])
    assert client.post(f"{page}nothing/rename", {"name": "x"}).status_code == 404
    assert client.post(f"{page}nothing/delete").status_code == 404
    assert client.get(f"{page}nothing/").status_code == 404
    assert client.get(download_url(world["project"], "nothing")).status_code == 404


def test_rename_and_delete_refuse_get(world):
    client = client_for(world["people"]["owner"])
    page = list_url(world["project"])
    assert client.get(f"{page}grades/rename").status_code == 405
    assert client.get(f"{page}grades/delete").status_code == 405
    assert names() == {"grades"}


def test_a_malformed_project_id_is_404_on_every_page():
    client = client_for(UserFactory())
    for url in (
        "/projects/not-a-uuid/collections/",
        "/projects/not-a-uuid/collections/grades/",
        "/download/collections/not-a-uuid/grades",
    ):
        assert client.get(url).status_code == 404, url


# --- The list -------------------------------------------------------------------------------------


def test_the_list_shows_counts_sizes_and_last_modified(world):
    big = CollectionFactory(project=world["project"], name="big")
    services.put_items(collection=big, items=[("k", "x" * 3000)])
    CollectionFactory(name="other-projects-collection")

    response = client_for(world["people"]["viewer"]).get(list_url(world["project"]))

    html = response.content.decode()
    rows = re.findall(r'<tr data-name="([^"]+)"', html)
    assert rows == ["big", "grades"]
    big_row = html[html.index('data-name="big"') :]
    assert '<td class="num items">1</td>' in big_row
    assert "2.9\xa0KB" in big_row
    big.refresh_from_db()
    assert big.updated_at.strftime("%Y-%m-%d %H:%M") in big_row
    assert "other-projects-collection" not in html


def test_the_project_page_links_to_the_collections(world):
    response = client_for(world["people"]["viewer"]).get(f"/projects/{world['project'].pk}/")
    assert f'href="{list_url(world["project"])}"' in response.content.decode()


# --- The item browser -----------------------------------------------------------------------------


def item_keys(response):
    return [item["key"] for item in response.context["items"]]


def test_the_item_browser_pages_through_items_in_insertion_order(world):
    collection = CollectionFactory(project=world["project"], name="many")
    put_many(collection, 60, prefix="b")
    put_many(collection, 50, prefix="a")
    client = client_for(world["people"]["viewer"])

    first = client.get(detail_url(world["project"], "many"))
    assert item_keys(first) == [f"b-{i:03}" for i in range(50)]
    assert first.context["first_url"] is None
    next_url = first.context["next_url"]
    assert next_url and "cursor=" in next_url
    assert escape(next_url) in first.content.decode()

    second = client.get(next_url)
    assert item_keys(second) == [f"b-{i:03}" for i in range(50, 60)] + [
        f"a-{i:03}" for i in range(40)
    ]
    assert second.context["first_url"] == detail_url(world["project"], "many") + "?"
    assert "First page" in second.content.decode()

    third = client.get(second.context["next_url"])
    assert item_keys(third) == [f"a-{i:03}" for i in range(40, 50)]
    assert third.context["next_url"] is None
    assert "Next page" not in third.content.decode()


def test_exactly_one_page_of_items_has_no_next_link(world):
    collection = CollectionFactory(project=world["project"], name="fifty")
    put_many(collection, 50)
    response = client_for(world["people"]["viewer"]).get(detail_url(world["project"], "fifty"))
    assert len(item_keys(response)) == 50
    assert response.context["next_url"] is None


def test_a_key_pattern_narrows_the_items_and_is_kept_across_pages(world):
    collection = CollectionFactory(project=world["project"], name="many")
    put_many(collection, 55, prefix="match")
    put_many(collection, 10, prefix="other")
    services.put_items(collection=collection, items=[("100%", "a"), ("100x", "b"), ("*star", "c")])
    client = client_for(world["people"]["viewer"])
    url = detail_url(world["project"], "many")

    first = client.get(url, {"key": "match-*"})
    assert len(item_keys(first)) == 50
    assert "key=match-%2A" in first.context["next_url"]
    second = client.get(first.context["next_url"])
    assert item_keys(second) == [f"match-{i:03}" for i in range(50, 55)]
    assert second.context["first_url"] == f"{url}?key=match-%2A"

    assert item_keys(client.get(url, {"key": "*-009"})) == ["match-009", "other-009"]
    assert item_keys(client.get(url, {"key": "100%"})) == ["100%"]
    assert item_keys(client.get(url, {"key": "\\**"})) == ["*star"]
    assert item_keys(client.get(url, {"key": "match-001"})) == ["match-001"]
    nothing = client.get(url, {"key": "zzz*"})
    assert "No items match this pattern." in nothing.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "not base64!"}, "This page link is not valid."),
        ({"cursor": "YWJj"}, "This page link is not valid."),  # Base64 of "abc"
        ({"cursor": "A" * 5000}, "This page link is not valid."),
        ({"key": "nul\x00"}, "Null characters are not allowed."),
        ({"key": "k" * 513}, "Ensure this value has at most 512 characters"),
    ],
)
def test_a_bad_cursor_or_pattern_is_an_error_message_not_a_500(world, params, message):
    response = client_for(world["people"]["viewer"]).get(
        detail_url(world["project"], "grades"), params
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert message in html
    assert response.context["items"] == []


def test_a_pattern_of_512_characters_is_accepted(world):
    response = client_for(world["people"]["viewer"]).get(
        detail_url(world["project"], "grades"), {"key": "k" * 512}
    )
    assert response.status_code == 200
    assert 'role="alert"' not in response.content.decode()


def test_a_cursor_past_the_end_shows_no_more_items(world):
    response = client_for(world["people"]["viewer"]).get(
        detail_url(world["project"], "grades"), {"cursor": "OTk5OTk5OTk5OTk5"}
    )
    assert response.context["items"] == []
    assert "No more items." in response.content.decode()


def test_a_pattern_that_runs_too_long_is_an_error_message(world, monkeypatch):
    def too_slow(**kwargs):
        raise PatternTooSlow()

    # Faked: a real timeout needs a large collection (see test_data_stream.py for that case).
    monkeypatch.setattr(queries, "fetch_page", too_slow)
    response = client_for(world["people"]["viewer"]).get(
        detail_url(world["project"], "grades"), {"key": "*nothing*"}
    )
    assert response.status_code == 200
    assert "The key pattern took too long to match." in response.content.decode()
    assert response.context["items"] == []


def test_values_are_previewed_with_their_length_and_times(world):
    collection = CollectionFactory(project=world["project"], name="long")
    long_value = "<b>" + "é" * 300
    services.put_items(collection=collection, items=[("long", long_value), ("short", "hi")])

    response = client_for(world["people"]["viewer"]).get(detail_url(world["project"], "long"))

    long_item, short_item = response.context["items"]
    assert long_item["preview"] == long_value[:200]
    assert (long_item["truncated"], long_item["length"]) == (True, 303)
    assert (short_item["truncated"], short_item["length"]) == (False, 2)
    html = response.content.decode()
    assert escape(long_value[:200]) in html
    assert "é" * 198 not in html
    assert "303 characters, first 200 shown" in html
    assert "2 characters" in html
    assert "<b>" not in html
    item = CollectionItem.objects.get(key="long")
    assert item.created_at.strftime("%Y-%m-%d %H:%M:%S") in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z"', html)


def test_json_values_are_shown_as_text_unescaped_and_formatted(world):
    collection = CollectionFactory(project=world["project"], name="books")
    stored = {
        "object": '{"author": "Lagerl\\u00f6f", "title": "<Nils>"}',
        "string": '"Lagerl\\u00f6f"',
        "plain": "Lagerl\\u00f6f & <b>",
        "number": "3",
        "broken": '{"author": "Lagerl\\u00f6f"',
    }
    services.put_items(collection=collection, items=list(stored.items()))

    response = client_for(world["people"]["viewer"]).get(detail_url(world["project"], "books"))

    previews = {item["key"]: item["preview"] for item in response.context["items"]}
    assert previews == {
        "object": '{\n  "author": "Lagerlöf",\n  "title": "<Nils>"\n}',
        "string": '"Lagerlöf"',
        "plain": stored["plain"],
        "number": "3",
        "broken": stored["broken"],
    }
    html = response.content.decode()
    assert escape(previews["object"]) in html
    assert "Lagerl\\u00f6f" not in html.replace(escape(stored["plain"]), "").replace(
        escape(stored["broken"]), ""
    )
    assert "<Nils>" not in html and "<b>" not in html
    # The length is the stored value's; the page says when JSON was formatted.
    assert f"{len(stored['object'])} characters · JSON, formatted" in html


def test_a_deeply_nested_json_value_is_shown_as_stored(world):
    collection = CollectionFactory(project=world["project"], name="deep")
    deep = "[" * 100_000 + "]" * 100_000
    services.put_items(collection=collection, items=[("deep", deep)])

    response = client_for(world["people"]["viewer"]).get(detail_url(world["project"], "deep"))

    assert response.status_code == 200
    assert response.context["items"][0]["preview"] == deep[:200]


def test_an_empty_collection_says_so(world):
    CollectionFactory(project=world["project"], name="empty")
    response = client_for(world["people"]["viewer"]).get(detail_url(world["project"], "empty"))
    assert "This collection is empty." in response.content.decode()


# --- The download ---------------------------------------------------------------------------------


def body_of(response):
    assert response.streaming
    return b"".join(response.streaming_content)


def test_the_download_streams_every_item_as_a_json_array(world, settings):
    settings.COLLECTIONS_PAGE_SIZE = 7  # several keyset pages
    collection = CollectionFactory(project=world["project"], name="many")
    put_many(collection, 30)

    response = client_for(world["people"]["viewer"]).get(download_url(world["project"], "many"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="many.json"'
    assert "no-store" in response["Cache-Control"]
    items = json.loads(body_of(response))
    assert [item["key"] for item in items] == [f"key-{i:03}" for i in range(30)]
    assert set(items[0]) == {"key", "value", "created", "updated"}
    assert items[0]["value"] == "value 0"
    assert items[0]["created"].endswith("Z")


def test_the_download_keeps_values_exactly(world):
    response = client_for(world["people"]["viewer"]).get(download_url(world["project"], "grades"))
    items = json.loads(body_of(response))
    assert [(item["key"], item["value"]) for item in items] == [
        ("anna", '{"score": 5}'),
        ("bert", "3"),
    ]


def test_an_empty_collection_downloads_as_an_empty_array(world):
    CollectionFactory(project=world["project"], name="empty")
    response = client_for(world["people"]["viewer"]).get(download_url(world["project"], "empty"))
    assert response.status_code == 200
    assert body_of(response) == b"[]"


def test_the_download_refuses_post(world):
    response = client_for(world["people"]["owner"]).post(download_url(world["project"], "grades"))
    assert response.status_code == 405


def test_a_collection_of_another_project_is_not_reachable_through_this_project(world):
    other = make_project({world["people"]["owner"]: ProjectRole.OWNER})
    CollectionFactory(project=other, name="secret")
    client = client_for(world["people"]["owner"])
    assert client.get(download_url(world["project"], "secret")).status_code == 404
    assert client.get(detail_url(world["project"], "secret")).status_code == 404
    assert client.get(download_url(other, "secret")).status_code == 200


# --- The admin ------------------------------------------------------------------------------------


@pytest.fixture
def staff_client():
    return client_for(UserFactory(superuser=True))


def test_the_admin_lists_and_searches_collections_read_only(staff_client, world):
    grades = world["grades"]
    listing = staff_client.get("/admin/kvcollections/collection/", {"q": "field"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "grades" in html and "Field notes" in html
    nothing = staff_client.get("/admin/kvcollections/collection/", {"q": "nothing"})
    assert nothing.context["cl"].result_count == 0
    view = staff_client.get(f"/admin/kvcollections/collection/{grades.pk}/change/")
    assert view.status_code == 200
    assert 'name="item_count"' not in view.content.decode()
    assert staff_client.get("/admin/kvcollections/collection/add/").status_code == 403
    assert staff_client.get("/admin/kvcollections/collectionitem/").status_code == 404
    changed = staff_client.post(
        f"/admin/kvcollections/collection/{grades.pk}/change/", {"name": "hacked"}
    )
    assert changed.status_code == 403
    assert names() == {"grades"}


def test_the_admin_deletes_through_the_service_and_summarises_items(staff_client, world):
    grades = world["grades"]
    confirm = staff_client.get(f"/admin/kvcollections/collection/{grades.pk}/delete/")
    assert confirm.status_code == 200
    assert "grades (2 items)" in confirm.content.decode()

    response = staff_client.post(
        f"/admin/kvcollections/collection/{grades.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Collection.objects.exists()
    assert not CollectionItem.objects.exists()


def test_the_admin_delete_action_uses_the_service_for_each_collection(staff_client, world):
    CollectionFactory(project=world["project"], name="marks")
    ids = [str(pk) for pk in Collection.objects.values_list("pk", flat=True)]
    response = staff_client.post(
        "/admin/kvcollections/collection/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Collection.objects.exists()
    assert not CollectionItem.objects.exists()
