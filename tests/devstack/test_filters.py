"""FilterCriteria patterns keep and drop records as Lambda does."""

from __future__ import annotations

import pytest

from devstack.filters import any_filter_matches, matches

OUTBOX_INSERT = {
    "eventName": "INSERT",
    "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#e-1"}, "sk": {"S": "OUTBOX"}}, "SizeBytes": 120},
}
TEMPLATE_FILTER = [
    {"Pattern": '{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}'}
]


def test_the_templates_outbox_filter_keeps_outbox_inserts_only():
    modify = {**OUTBOX_INSERT, "eventName": "MODIFY"}
    pledge = {**OUTBOX_INSERT, "dynamodb": {"Keys": {"pk": {"S": "PLEDGE#p-1"}}}}

    assert any_filter_matches(TEMPLATE_FILTER, OUTBOX_INSERT)
    assert not any_filter_matches(TEMPLATE_FILTER, modify)
    assert not any_filter_matches(TEMPLATE_FILTER, pledge)


def test_no_filters_keep_everything():
    assert any_filter_matches([], {"anything": 1})


@pytest.mark.parametrize(
    ("pattern", "kept"),
    [
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, True),
        ({"eventName": [{"anything-but": {"prefix": "INS"}}]}, False),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 120]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 120]}]}}, False),
        ({"dynamodb": {"NewImage": [{"exists": False}]}}, True),
        ({"dynamodb": {"Keys": {"pk": [{"exists": True}]}}}, True),
        ({"eventName": [{"equals-ignore-case": "insert"}]}, True),
        ({"dynamodb": {"Keys": {"sk": {"S": [{"suffix": "BOX"}]}}}}, True),
        ({"eventName": ["MODIFY", "INSERT"]}, True),
        ({"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"SizeBytes": [120]}}]}, True),
        ({"missing": ["x"]}, False),
    ],
)
def test_pattern_operators(pattern, kept):
    assert matches(pattern, OUTBOX_INSERT) is kept
