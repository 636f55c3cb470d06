"""Seed the fault suite's own database: `python -m tests.faults.seed` (DATABASE_URL pointing at
it) prints, as one JSON line, what the load clients and the tests need."""

import json

import django

TOOL_SOURCE = """\
import time
import uuid
from skriptoteket_toolkit import collections, read_inputs

def run_tool(input_dir, output_dir):
    inputs = read_inputs()
    tag = inputs.get("tag") or "untagged"
    # One ledger entry per execution: a run executed twice leaves two entries.
    collections.set("ledger", tag + ":" + uuid.uuid4().hex, "ran")
    time.sleep(float(inputs.get("sleep") or 0))
    return "done " + tag
"""
INPUT_SCHEMA = [
    {"kind": "string", "name": "tag", "label": "Tag"},
    {"kind": "string", "name": "sleep", "label": "Seconds to sleep"},
]
EMAIL = "faults@example.com"


def seed() -> dict[str, str]:
    from apps.kvcollections.services import create_collection
    from apps.projects.models import ProjectRole
    from tests.factories import ApiTokenFactory, UserFactory, make_project
    from tests.factories.accounts import PASSWORD
    from tests.factories.runs import published_tool

    owner = UserFactory(email=EMAIL, contributor=True)
    project = make_project({owner: ProjectRole.OWNER}, name="Faults")
    load = create_collection(project=project, name="load")
    ledger = create_collection(project=project, name="ledger")
    tool = published_tool(owner, TOOL_SOURCE, project=project, input_schema=INPUT_SCHEMA)
    token = ApiTokenFactory(user=owner)
    return {
        "email": EMAIL,
        "password": PASSWORD,
        "token": token.secret,
        "project_id": str(project.pk),
        "collection": load.name,
        "collection_id": str(load.pk),
        "ledger_id": str(ledger.pk),
        "tool_id": str(tool.pk),
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(seed()))  # noqa: T201 - the caller reads this line
