"""The catalog search (tools.queries.matching_all_words): what it matches, and that PostgreSQL
answers it from the trigram indexes once the tables are big enough for an index to pay."""

import pytest
from django.db import connection

from apps.tools import access, queries
from apps.tools.models import Tool
from tests.factories.catalog import make_catalog_tool, make_catalog_world, make_many_catalog_tools

pytestmark = pytest.mark.django_db

TRIGRAM_INDEXES = ("tools_title_trgm", "tools_summary_trgm", "tools_active_instructions_trgm")


def titles(words, tools=None):
    return [tool.title for tool in queries.matching_all_words(tools or Tool.objects.all(), words)]


def test_no_words_leave_the_tools_as_they_are(db):
    assert queries.matching_all_words(Tool.objects.none(), []).query is not None


def test_every_word_must_match_somewhere(db):
    world = make_catalog_world()
    assert titles(["pdf", "diplom"]) == ["Yrkesgeneratorn"]
    assert titles(["pdf"]) == ["HTML to PDF preview", "Yrkesgeneratorn"]
    assert titles(["pdf", "nowhere"]) == []
    assert world.tools  # the world's tools are what matched


def test_title_matches_come_before_other_matches(db):
    world = make_catalog_world()
    make_catalog_tool(world.north, title="Aardvark", summary="Better than Gruppgeneratorn.")
    assert titles(["gruppgeneratorn"]) == ["Gruppgeneratorn", "Aardvark"]


def test_the_search_runs_on_the_trigram_indexes_at_scale(db):
    """With 5,000 tools the planner answers every word from the three trigram indexes (the
    partial one holds only ACTIVE versions). Below ~2,000 tools it may read the small tools
    table directly instead; the bench prints the plan at 1,000 (docs/portal.md)."""
    world = make_catalog_world()
    for number in range(5):
        make_many_catalog_tools(world.north, 1000, prefix=f"Verktyg {number}")
    with connection.cursor() as cursor:
        # As autovacuum leaves them: statistics fresh, bulk-inserted GIN entries merged.
        cursor.execute("ANALYZE tools_tool; ANALYZE tools_toolversion")
        for index in TRIGRAM_INDEXES:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
    visible = access.published_tools_visible_to(world.uma)
    search = queries.matching_all_words(visible, ["gruppgen"])
    plan = search.explain()
    for index in TRIGRAM_INDEXES:
        assert f"Bitmap Index Scan on {index}" in plan, plan
    assert [tool.title for tool in search] == ["Gruppgeneratorn"]
