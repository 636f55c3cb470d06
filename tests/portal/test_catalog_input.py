"""Bad query strings on the catalog never make a 5xx: a 400 page that says what is wrong (with a
way back), or a 200 where the input is merely unusual. Every limit at the limit and one past."""

import uuid

import pytest

from apps.portal.views.catalog import MAX_PAGE, MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS
from tests.clients import client_for

pytestmark = pytest.mark.django_db

PAGES = ("/tools/", "/tools/results")


def fetch(world, raw_query, page="/tools/"):
    return client_for(world.uma).get(f"{page}?{raw_query}")


def assert_refused(response, message):
    html = response.content.decode()
    assert response.status_code == 400, html[:500]
    assert 'id="catalog-errors"' in html
    assert message in html
    assert '<a href="/tools/">clear the filters</a>' in html
    assert 'id="catalog-tools"' not in html


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("raw_query", "message"),
    [
        ("q=%00", "Null characters are not allowed."),
        ("q=abc%00def", "Null characters are not allowed."),
        ("project=%00", "Choose one of the listed options."),
        ("profession=%00", "Choose one of the listed options."),
        ("category=te%00acher", "Choose one of the listed options."),
        ("favorites=%00", "Choose one of the listed options."),
        ("page=%00", "Enter a whole number."),
    ],
)
def test_nul_bytes_are_refused_in_every_parameter(world, page, raw_query, message):
    assert_refused(fetch(world, raw_query, page), message)


def test_a_refused_nul_is_not_echoed_into_the_page(world):
    html = fetch(world, "q=abc%00def").content.decode()
    assert "\x00" not in html
    assert 'name="q" value=""' in html


@pytest.mark.parametrize("page", PAGES)
def test_search_terms_up_to_the_limit_are_accepted(world, page):
    term = "g" * MAX_SEARCH_LENGTH
    response = client_for(world.uma).get(page, {"q": term})
    assert response.status_code == 200
    assert 'data-empty="no-matches"' in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("length", [MAX_SEARCH_LENGTH + 1, 10_000])
def test_longer_search_terms_are_refused(world, page, length):
    response = client_for(world.uma).get(page, {"q": "g" * length})
    assert_refused(response, f"at most {MAX_SEARCH_LENGTH} characters (it has {length})")


def test_search_words_up_to_the_limit_are_accepted_and_one_more_is_refused(world):
    client = client_for(world.uma)
    words = ["pdf"] * MAX_SEARCH_WORDS
    assert client.get("/tools/", {"q": " ".join(words)}).status_code == 200
    response = client.get("/tools/", {"q": " ".join([*words, "pdf"])})
    assert_refused(response, f"Search for at most {MAX_SEARCH_WORDS} words.")


@pytest.mark.parametrize(
    "raw_query",
    [
        "project=not-a-uuid",
        "project=00000000-0000-0000-0000-000000000000",
        "profession=astronaut",
        "category=..%2F..%2Fetc",
        "favorites=banana",
        "favorites=true",
    ],
)
def test_unknown_filter_values_are_refused(world, raw_query):
    assert_refused(fetch(world, raw_query), "Choose one of the listed options.")


def test_the_project_of_another_school_is_refused_like_one_that_does_not_exist(world):
    hidden = fetch(world, f"project={world.south.pk}")
    missing = fetch(world, f"project={uuid.UUID(int=0)}")
    assert_refused(hidden, "Choose one of the listed options.")
    # The same answer, word for word (the page's CSRF tokens aside).
    hidden_results = results_of(hidden).replace(str(world.south.pk), "X")
    assert hidden_results == results_of(missing).replace(str(uuid.UUID(int=0)), "X")


def results_of(response):
    html = response.content.decode()
    return html[html.index('id="catalog-results"') :]


@pytest.mark.parametrize(
    ("raw_query", "message"),
    [
        ("page=abc", "Enter a whole number."),
        ("page=1.5", "Enter a whole number."),
        ("page=1e309", "Enter a whole number."),
        ("page=" + "9" * 5000, "Enter a whole number."),
        ("page=0", "greater than or equal to 1"),
        ("page=-3", "greater than or equal to 1"),
        (f"page={MAX_PAGE + 1}", f"less than or equal to {MAX_PAGE}"),
    ],
)
def test_wrong_page_numbers_are_refused(world, raw_query, message):
    assert_refused(fetch(world, raw_query), message)


def test_page_numbers_up_to_the_limit_show_the_last_page(world):
    response = fetch(world, f"page={MAX_PAGE}")
    assert response.status_code == 200
    assert "5 tools" in response.content.decode()


@pytest.mark.parametrize(
    "raw_query",
    [
        "q=%ff%fe",  # not UTF-8
        "q=%ed%a0%80",  # a lone surrogate, encoded
        "q=%25%5F%5C",  # %, _ and \ are literal characters, not patterns
        "q=%27%3B+DROP+TABLE+tools_tool%3B--",
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "q=a&q=b&q=generatorn",  # repeated: the last one counts
        "unknown=1&utm_source=x",  # unknown parameters are ignored
        "q=" + "%20" * 500,  # only blanks (long, but stripped to nothing)
        "q=🙂",
    ],
)
def test_unusual_but_harmless_input_is_a_normal_page(world, raw_query):
    response = fetch(world, raw_query)
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def test_a_search_of_blanks_is_no_search(world):
    response = fetch(world, "q=+++")
    assert response.status_code == 200
    assert "5 tools" in response.content.decode()
