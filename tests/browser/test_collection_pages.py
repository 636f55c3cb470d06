"""Collection pages as people use them: create, browse, search, download, rename, delete."""

import json
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from apps.kvcollections import services
from apps.kvcollections.models import Collection
from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from tests.factories import CollectionFactory, UserFactory

pytestmark = pytest.mark.browser


def collection_row(page: Page, name: str) -> Locator:
    return page.locator(f'#collection-table tr[data-name="{name}"]')


def item_rows(page: Page) -> Locator:
    return page.locator("#item-table tbody tr")


def test_admin_creates_a_collection_then_pages_searches_and_downloads_items(
    page, live_server, login, screenshot, alice, project: Project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("link", name="Open collections").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Collections")
    expect(page.locator("#collection-table")).to_contain_text("No collections yet.")

    page.get_by_label("Name").fill("reading-log")
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("status")).to_have_text("Collection “reading-log” created.")
    screenshot("created")

    # Inserted newest-first, so insertion order differs from key order.
    collection = Collection.objects.get(project=project, name="reading-log")
    books = [(f"book-{i:03}", json.dumps({"n": i, "notes": "x" * (2 * i)})) for i in range(120)]
    services.put_items(collection=collection, items=books[::-1])
    page.reload()
    expect(collection_row(page, "reading-log").locator("td.items")).to_have_text("120")
    screenshot("list")

    collection_row(page, "reading-log").get_by_role("link", name="reading-log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("reading-log")
    expect(item_rows(page)).to_have_count(50)
    expect(item_rows(page).first.locator("td.key")).to_have_text("book-119")
    expect(item_rows(page).first).to_contain_text("characters, first 200 shown")
    expect(page.get_by_role("link", name="First page")).to_have_count(0)
    screenshot("items-page-1")

    page.get_by_role("link", name="Next page").click()
    expect(item_rows(page).first.locator("td.key")).to_have_text("book-069")
    expect(item_rows(page)).to_have_count(50)
    page.get_by_role("link", name="Next page").click()
    expect(item_rows(page)).to_have_count(20)
    expect(item_rows(page).last.locator("td.key")).to_have_text("book-000")
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    expect(item_rows(page).first.locator("td.key")).to_have_text("book-119")

    page.get_by_label("Key pattern").fill("book-1*5")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?key=book-1(\*|%2A)5$"))
    keys = item_rows(page).locator("td.key")
    expect(keys).to_have_text([f"book-1{i}5" for i in range(1, -1, -1)])
    expect(page.get_by_label("Key pattern")).to_have_value("book-1*5")
    screenshot("search")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as JSON").click()
    download = download_info.value
    assert download.suggested_filename == "reading-log.json"
    items = json.loads(download.path().read_text(encoding="utf-8"))
    assert [item["key"] for item in items] == [key for key, _ in books[::-1]]
    assert items[0]["value"] == books[-1][1]


def test_a_bad_page_link_shows_an_error_not_a_crash(
    page, live_server, login, screenshot, alice, project: Project
):
    CollectionFactory(project=project, name="grades")
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/collections/grades/?cursor=broken")
    expect(page.get_by_role("alert")).to_contain_text("This page link is not valid.")
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(item_rows(page)).to_contain_text("This collection is empty.")
    screenshot("bad-cursor")


def test_admin_renames_and_deletes_a_collection_after_confirming(
    page, live_server, login, screenshot, alice, project: Project
):
    grades = CollectionFactory(project=project, name="grades")
    services.put_items(collection=grades, items=[("anna", "5"), ("bert", "3")])
    CollectionFactory(project=project, name="marks")
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/collections/")

    row = collection_row(page, "grades")
    row.get_by_text("Rename…").click()
    row.get_by_label("New name for grades").fill("marks")
    row.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("alert")).to_have_text(
        "A collection with this name already exists in this project."
    )

    row = collection_row(page, "grades")
    row.get_by_text("Rename…").click()
    row.get_by_label("New name for grades").fill("scores-2026")
    screenshot("rename-open")
    row.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_have_text("Collection “grades” renamed to “scores-2026”.")

    row = collection_row(page, "scores-2026")
    delete_button = row.get_by_role("button", name="Delete collection")
    expect(delete_button).to_be_hidden()
    row.get_by_text("Delete…").click()
    expect(row).to_contain_text("Delete “scores-2026” and its 2 items? This cannot be undone.")
    screenshot("delete-confirm")
    delete_button.click()
    expect(page.get_by_role("status")).to_have_text(
        "Collection “scores-2026” deleted with its 2 item(s)."
    )
    expect(collection_row(page, "scores-2026")).to_have_count(0)
    assert set(Collection.objects.values_list("name", flat=True)) == {"marks"}


def test_viewer_sees_collections_read_only_and_can_still_browse_and_download(
    page, live_server, login, screenshot, project: Project
):
    grades = CollectionFactory(project=project, name="grades")
    services.put_items(collection=grades, items=[("anna", "5")])
    viewer = UserFactory(email="victor@example.com")
    assign_role(user=viewer, project=project, role=ProjectRole.VIEWER)
    login(page, live_server, viewer)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("link", name="Open collections").click()

    expect(collection_row(page, "grades")).to_contain_text("1")
    expect(
        page.get_by_text("Only admins and owners create, rename or delete collections.")
    ).to_be_visible()
    expect(page.locator("#create-collection")).to_have_count(0)
    expect(page.get_by_text("Rename…")).to_have_count(0)
    expect(page.get_by_text("Delete…")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete collection")).to_have_count(0)
    screenshot("viewer")

    with page.expect_download() as download_info:
        collection_row(page, "grades").get_by_role("link", name="Download").click()
    assert json.loads(download_info.value.path().read_text())[0]["key"] == "anna"
    collection_row(page, "grades").get_by_role("link", name="grades").click()
    expect(item_rows(page)).to_have_count(1)
