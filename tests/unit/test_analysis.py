"""English stemming without analysis-common: the Python path must treat words as the `english` analyzer does."""

from __future__ import annotations

from backend.index import analysis


def test_possessives_plurals_and_inflections_meet_their_base_word():
    # a user searching "BERT" must find "BERT's"; "meeting" must find "meetings" and "meet"
    assert analysis.stems("BERT's") == analysis.stems("bert") == "bert"
    assert analysis.stems("Meetings") == analysis.stems("meeting") == analysis.stems("meet")
    assert analysis.stems("the maintainers’ elections") == analysis.stems("maintainer election")


def test_stop_words_are_dropped_and_a_stop_word_question_stems_to_nothing():
    assert analysis.stems("Who is the chair of the TSC?") == "who chair tsc"
    assert analysis.stems("the of and") == ""


def test_porter_as_lucene_english_has_it():
    # the Porter stems Lucene's PorterStemFilter (the last step of `english`) gives these words
    expected = {"governance": "govern", "policies": "polici", "approved": "approv", "running": "run",
                "quarterly": "quarterli", "hyperledger": "hyperledg", "1.4": "1.4"}
    assert {w: analysis.stems(w) for w in expected} == expected


def test_auto_takes_english_where_the_node_has_it_and_python_stems_elsewhere():
    assert analysis.choose("auto", {"analysis-common", "x-pack-core"}) == ("english", "english")
    assert analysis.choose("auto", {"x-pack-core"}) == (analysis.PLAIN_ANALYZER, analysis.PYTHON)
    assert analysis.choose("python-porter", {"analysis-common"}) == (analysis.PLAIN_ANALYZER, analysis.PYTHON)
    assert analysis.choose("lore_text", {"analysis-common"}) == ("lore_text", analysis.NONE)


def test_stem_fields_cover_title_headings_and_text():
    got = analysis.stem_fields({"title": "TSC Meetings", "heading_path": ["Votes", "Elections"],
                                "text": "Chris's nominations"})
    assert got == {"title_stems": "tsc meet", "heading_stems": "vote elect", "text_stems": "chri nomin"}
