"""The catalog page through Django's client: who sees which tools, the cards, search, filters,
pagination, the landing sections, empty states, the landing redirect and the query budget."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.projects import services as project_services
from apps.projects.models import ProjectRole
from apps.tools.models import ToolVersion, VersionState
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import (
    make_catalog_tool,
    make_many_catalog_tools,
    make_production_run,
)
from tests.factories.runs import published_tool

pytestmark = pytest.mark.django_db

CARD_TITLE = re.compile(r'class="tool-run-link">([^<]*)</a>')


def titles(response, section="catalog-list"):
    """Card titles of one section of the page, in order."""
    html = response.content.decode()
    start = html.find(f'id="{section}"')
    if start < 0:
        return []
    end = html.find("</section>", start)
    return CARD_TITLE.findall(html[start:end])


def get(user, query=""):
    return client_for(user).get(f"/tools/{query}")


# --- Who sees what -----------------------------------------------------------------------------


def test_catalog_lists_the_published_tools_of_my_projects(world):
    response = get(world.uma)
    assert response.status_code == 200
    assert titles(response) == sorted(world.tools)


def test_a_tool_of_another_project_is_neither_listed_nor_found(world):
    assert "Närvarolista" not in get(world.uma).content.decode()
    for query in ("?q=Närvaro", "?q=frånvaro", "?q=Syd", f"?project={world.south.pk}"):
        response = get(world.uma, query)
        assert "Närvarolista" not in response.content.decode(), query
    # otto, its project's viewer, finds it.
    assert titles(get(world.otto, "?q=närvaro")) == ["Närvarolista"]


def test_unpublished_inactive_and_deleted_project_tools_are_not_listed(world):
    make_catalog_tool(world.north, title="Hidden draft tool", published=False)
    make_catalog_tool(world.north, title="Never activated", active=False)
    doomed = make_project({world.cleo: ProjectRole.OWNER, world.uma: ProjectRole.VIEWER})
    make_catalog_tool(doomed, title="In a closing project")
    project_services.schedule_project_deletion(project=doomed, actor=world.cleo)
    html = get(world.uma).content.decode()
    for title in ("Hidden draft tool", "Never activated", "In a closing project"):
        assert title not in html


def test_global_admins_see_every_live_project(world):
    listed = titles(get(world.ada))
    assert "Närvarolista" in listed
    assert set(world.tools) <= set(listed)


def test_a_tool_published_through_the_services_is_listed(world):
    tool = published_tool(world.cleo, project=world.north, usage_instructions="Kör mig.")
    tool.title = "Published the long way"
    tool.save(update_fields=["title"])
    assert "Published the long way" in titles(get(world.uma, "?q=kör+mig"))


# --- Cards -------------------------------------------------------------------------------------


def test_card_shows_title_summary_project_chips_and_the_run_link(world):
    tool = world.tools["Gruppgeneratorn"]
    html = get(world.uma, "?q=Gruppgeneratorn").content.decode()
    card = html[html.index(f'data-tool-id="{tool.pk}"') :]
    card = card[: card.index("</li>")]
    assert f'href="/tools/{tool.pk}/run"' in card
    assert "Skapar slumpade elevgrupper" in card
    assert '<span class="chip project" title="Project: Skola Norr">Skola Norr</span>' in card
    assert 'href="/tools/?profession=teacher">Teacher</a>' in card
    assert 'href="/tools/?profession=mentor">Mentor</a>' in card
    assert 'href="/tools/?category=planning">Planning</a>' in card
    assert 'aria-pressed="false"' in card


def test_top_navigation_links_the_catalog(world):
    html = client_for(world.cleo).get("/projects/").content.decode()
    assert '<a href="/tools/">Tools</a>' in html


# --- Landing -----------------------------------------------------------------------------------


def test_home_sends_users_to_the_catalog_and_authors_to_projects(world):
    assert client_for(world.uma).get("/")["Location"] == "/tools/"
    assert client_for(world.cleo).get("/")["Location"] == "/projects/"
    assert client_for(world.ada).get("/")["Location"] == "/projects/"
    assert Client().get("/")["Location"].startswith("/accounts/login/")


def test_signing_in_lands_a_user_on_the_catalog(world):
    client = Client()
    response = client.post("/accounts/login/", {"username": world.uma.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/", follow=True).redirect_chain == [("/tools/", 302)]


def test_anonymous_visitors_are_sent_to_sign_in():
    for url in ("/tools/", "/tools/results"):
        assert Client().get(url)["Location"].startswith("/accounts/login/?next=")


# --- Search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("generatorn", ["Gruppgeneratorn", "Yrkesgeneratorn"]),  # inside a Swedish compound
        ("GRUPP", ["Gruppgeneratorn"]),  # case-insensitive
        ("VÅRDNADSHAVARE", ["Mejllista för vårdnadshavare"]),  # å, ä, ö fold too
        ("docx", ["Markdown to Word"]),  # summary
        ("weasyprint", ["HTML to PDF preview"]),  # usage instructions of the active version
        ("pdf diplom", ["Yrkesgeneratorn"]),  # every word must match, anywhere
        ("  gruppstorlek  ", ["Gruppgeneratorn"]),  # surrounding blanks ignored
        ("%", []),  # LIKE wildcards are literal
        ("_", []),
    ],
)
def test_search_matches_title_summary_and_instructions(world, query, expected):
    assert sorted(titles(get(world.uma, f"?q={query}"))) == expected


def test_search_ignores_instructions_of_versions_that_are_not_active(world):
    tool = world.tools["Markdown to Word"]
    ToolVersion.objects.create(
        tool=tool,
        version_number=2,
        state=VersionState.DRAFT,
        source_code="x = 1",
        usage_instructions="hemlig utkasttext",
        content_hash="d" * 64,
        created_by=world.cleo,
    )
    assert titles(get(world.uma, "?q=utkasttext")) == []


def test_title_matches_come_first(world):
    make_catalog_tool(world.north, title="A word list", instructions="Try Gruppgeneratorn too.")
    assert titles(get(world.uma, "?q=gruppgeneratorn")) == ["Gruppgeneratorn", "A word list"]


# --- Filters -----------------------------------------------------------------------------------


def test_filters_by_project_profession_and_category(world):
    extra = make_project({world.uma: ProjectRole.VIEWER}, name="Skola Väst")
    make_catalog_tool(extra, title="Västverktyg", professions=("mentor",), categories=("fun",))
    assert titles(get(world.uma, f"?project={extra.pk}")) == ["Västverktyg"]
    assert titles(get(world.uma, "?profession=administrator")) == ["HTML to PDF preview"]
    assert titles(get(world.uma, "?category=documents")) == [
        "HTML to PDF preview",
        "Markdown to Word",
    ]
    assert titles(get(world.uma, "?profession=mentor&category=fun")) == [
        "Västverktyg",
        "Yrkesgeneratorn",
    ]
    assert titles(get(world.uma, f"?profession=mentor&category=fun&project={extra.pk}")) == [
        "Västverktyg"
    ]


def test_filters_combine_with_search(world):
    assert titles(get(world.uma, "?q=generatorn&category=fun")) == ["Yrkesgeneratorn"]
    assert titles(get(world.uma, "?q=generatorn&profession=teacher")) == ["Gruppgeneratorn"]


def test_the_project_filter_offers_my_projects_with_tools(world):
    make_project({world.uma: ProjectRole.VIEWER}, name="Skola utan verktyg")
    html = get(world.uma).content.decode()
    assert f'<option value="{world.north.pk}">Skola Norr</option>' in html
    assert "Skola Syd" not in html  # otto's project, not uma's
    assert "Skola utan verktyg" not in html


def test_every_profession_and_category_is_offered(world):
    make_catalog_tool(world.south, title="Bibliotekslista", professions=("librarian",))
    html = get(world.uma).content.decode()
    assert '<option value="librarian">Librarian</option>' in html
    response = get(world.uma, "?profession=librarian")
    assert response.status_code == 200
    assert 'data-empty="no-matches"' in response.content.decode()
    assert "Bibliotekslista" not in response.content.decode()


def test_favorites_filter_lists_only_starred_tools(world):
    tool = world.tools["Markdown to Word"]
    client_for(world.uma).post(f"/tools/{tool.pk}/favorite", {"favorite": "1"})
    assert titles(get(world.uma, "?favorites=1")) == ["Markdown to Word"]


# --- Pagination and scale ----------------------------------------------------------------------


def test_the_list_is_paginated_by_thirty(world):
    make_many_catalog_tools(world.north, 30, prefix="Bulk")
    first = get(world.uma)
    assert len(titles(first)) == 30
    assert "35 tools · page 1 of 2" in first.content.decode()
    second = get(world.uma, "?page=2")
    assert len(titles(second)) == 5
    assert titles(get(world.uma, "?page=99")) == titles(second)  # past the end: the last page


def test_the_pager_keeps_the_search(world):
    make_many_catalog_tools(world.north, 40, prefix="Bulk")
    html = get(world.uma, "?q=bulk&category=planning").content.decode()
    assert 'href="/tools/?q=bulk&amp;category=planning&amp;page=2"' in html


def test_page_queries_do_not_grow_with_the_number_of_tools(world, django_assert_num_queries):
    uma = world.uma
    star = world.tools["Gruppgeneratorn"]
    client = client_for(uma)
    client.post(f"/tools/{star.pk}/favorite", {"favorite": "1"})
    make_production_run(world.tools["Markdown to Word"], uma, timezone.now())
    # session, user, the three filter option lists, the ids of the list, favorites, recent
    # runs, the rows of the page's and the recent cards (project, star and chips included)
    with django_assert_num_queries(9):
        assert client.get("/tools/").status_code == 200
    make_many_catalog_tools(world.north, 60, prefix="More")
    for tool in world.tools.values():
        make_production_run(tool, uma, timezone.now())
    for tool in make_many_catalog_tools(world.north, 40, prefix="Starred"):
        client.post(f"/tools/{tool.pk}/favorite", {"favorite": "1"})
    with django_assert_num_queries(9):
        assert client.get("/tools/").status_code == 200
    # A search has no landing sections: session, user, options (3), ids, rows.
    with django_assert_num_queries(7):
        assert client.get("/tools/?q=more&category=planning").status_code == 200
    with django_assert_num_queries(7):
        assert client.get("/tools/?page=3").status_code == 200


# --- Landing sections --------------------------------------------------------------------------


def test_favorites_and_recently_used_show_above_the_list_on_the_landing_page(world):
    client = client_for(world.uma)
    client.post(f"/tools/{world.tools['Yrkesgeneratorn'].pk}/favorite", {"favorite": "1"})
    make_production_run(world.tools["Gruppgeneratorn"], world.uma, timezone.now())
    landing = client.get("/tools/")
    assert titles(landing, "catalog-favorites") == ["Yrkesgeneratorn"]
    assert titles(landing, "catalog-recent") == ["Gruppgeneratorn"]
    searching = client.get("/tools/?q=generatorn")
    assert titles(searching, "catalog-favorites") == []
    assert titles(searching, "catalog-recent") == []


def test_recently_used_lists_my_distinct_production_tools_newest_first(world):
    uma, tools = world.uma, world.tools
    now = timezone.now()
    order = [
        "Gruppgeneratorn",
        "Markdown to Word",
        "Gruppgeneratorn",
        "Yrkesgeneratorn",
        "HTML to PDF preview",
        "Mejllista för vårdnadshavare",
    ]
    for minutes, title in enumerate(order):
        make_production_run(tools[title], uma, now - timedelta(minutes=minutes))
    # Another user's runs, a sandbox run and a run of a tool uma cannot see do not count.
    make_production_run(tools["Yrkesgeneratorn"], world.cleo, now + timedelta(minutes=5))
    sandbox = make_production_run(tools["Mejllista för vårdnadshavare"], uma, now)
    sandbox.context = "sandbox"
    sandbox.save(update_fields=["context"])
    make_production_run(world.secret, uma, now + timedelta(minutes=1))
    assert titles(get(uma), "catalog-recent") == [
        "Gruppgeneratorn",
        "Markdown to Word",
        "Yrkesgeneratorn",
        "HTML to PDF preview",
        "Mejllista för vårdnadshavare",
    ]


def test_recently_used_is_capped_at_five(world):
    now = timezone.now()
    for minutes, tool in enumerate(make_many_catalog_tools(world.north, 7, prefix="Run")):
        make_production_run(tool, world.uma, now - timedelta(minutes=minutes))
    assert titles(get(world.uma), "catalog-recent") == [f"Run {n:04d}" for n in range(5)]


# --- Empty states ------------------------------------------------------------------------------


def test_a_user_without_projects_is_told_to_ask_a_project_admin(db):
    html = get(UserFactory()).content.decode()
    assert 'data-empty="no-projects"' in html
    assert "Ask a project admin to add you" in html
    assert 'id="catalog-search"' not in html


def test_projects_without_published_tools_say_so(world):
    newcomer = UserFactory()
    empty = make_project({newcomer: ProjectRole.VIEWER}, name="Tom skola")
    make_catalog_tool(empty, title="Not yet", published=False)
    html = get(newcomer).content.decode()
    assert 'data-empty="no-tools"' in html
    assert "No published tools yet" in html


def test_a_search_without_hits_says_so_and_offers_to_clear(world):
    response = get(world.uma, "?q=zzyzx")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-empty="no-matches"' in html
    assert "No tool matches “zzyzx”" in html
    assert '<a href="/tools/">clear the filters</a>' in html
    assert "with these filters" in get(world.uma, "?q=zzyzx&category=fun").content.decode()


def test_no_favorites_yet_says_how_to_get_some(world):
    landing = get(world.uma).content.decode()
    assert 'data-empty="no-favorites"' in landing
    assert "No favorites yet. Star a tool" in landing
    filtered = get(world.uma, "?favorites=1").content.decode()
    assert 'id="catalog-empty" data-empty="no-favorites"' in filtered


# --- The results fragment ----------------------------------------------------------------------


def test_results_fragment_is_the_results_part_alone(world):
    response = client_for(world.uma).get("/tools/results?q=generatorn")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="catalog-search"' not in html
    assert titles(response) == ["Gruppgeneratorn", "Yrkesgeneratorn"]
    # Its star forms return to the catalog page, not to the fragment.
    assert 'name="next" value="/tools/?q=generatorn"' in html
