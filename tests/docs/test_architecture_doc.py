"""docs/architecture.md shows each workflow's states and moves exactly as the code has them."""

from __future__ import annotations

import pathlib

import pytest

from requests import services

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


@pytest.mark.parametrize(
    "workflow",
    [services.APPLICATION_WORKFLOW, services.REVIEW_WORKFLOW, services.PERMIT_WORKFLOW],
    ids=lambda w: w.name,
)
def test_the_document_holds_the_workflow_table_of_the_code(workflow):
    text = DOC.read_text()
    heading = f"### The {workflow.name}\n"
    assert heading in text
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    assert workflow.markdown() in section, (
        f"docs/architecture.md's {workflow.name} table differs from the code: run "
        "`python manage.py workflow_tables` and paste it in"
    )
