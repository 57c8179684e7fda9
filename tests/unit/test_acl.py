"""ACL fields and filter: deny by default, every restriction level must pass."""

from __future__ import annotations

from backend.acl import MAX_LEVELS, acl_fields, acl_filter, reduce_levels


def test_redundant_levels_are_dropped_and_the_strictest_kept():
    assert reduce_levels([["a", "b", "c"], ["a"], ["a"]]) == [["a"]]
    assert reduce_levels([["a", "b"], ["b", "c"]]) == [["a", "b"], ["b", "c"]]


def test_too_many_levels_merge_by_intersection_never_widening():
    levels = [[f"u{i}", "x", "y"] for i in range(MAX_LEVELS + 2)]
    got = reduce_levels(levels)
    assert len(got) == MAX_LEVELS
    assert got[-1] == ["x", "y"]  # the merged level only keeps identities every merged level allowed


def test_a_restriction_nobody_passes_stays_a_restriction():
    fields = acl_fields(["public"], [[]])
    assert fields["acl_r1"] == ["__nobody__"]


def test_filter_with_no_identities_matches_nothing():
    assert acl_filter([]) == {"bool": {"must_not": {"match_all": {}}}}
    f = acl_filter(["public", "public", "confluence-group:hr"])
    assert f["bool"]["filter"][0] == {"terms": {"acl": ["confluence-group:hr", "public"]}}
    assert len(f["bool"]["filter"]) == 1 + MAX_LEVELS
