"""ROUGE as rouge-score reports it (its README's example and hand-counted pairs), and LEAD/loading for
`python -m backend.eval minutes`."""

from __future__ import annotations

import json

import pytest

from backend.errors import BadRequest
from backend.eval.minutes import lead, load_meetings, transcript_of
from backend.eval.rouge import lcs_length, rouge, tokenize


def test_rouge_score_readme_example():
    # google-research/rouge: scorer.score('The quick brown fox jumps over the lazy dog',
    #                                     'The quick brown dog jumps on the log.')
    s = rouge("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log.")
    assert (s["rouge1"].precision, round(s["rouge1"].recall, 4), round(s["rouge1"].fmeasure, 4)) == (0.75, 0.6667,
                                                                                                      0.7059)
    assert (s["rougeL"].precision, round(s["rougeL"].recall, 4), round(s["rougeL"].fmeasure, 4)) == (0.625, 0.5556,
                                                                                                      0.5882)


def test_rouge2_counts_clipped_bigrams():
    # reference bigrams: "the cat", "cat sat", "sat the"... candidate repeats "the cat" 3x: only 1 counts
    s = rouge("the cat sat on the mat", "the cat the cat the cat")
    assert s["rouge2"].precision == pytest.approx(1 / 5) and s["rouge2"].recall == pytest.approx(1 / 5)
    s1 = rouge("the cat sat on the mat", "the cat the cat the cat")["rouge1"]
    assert s1.precision == pytest.approx(3 / 6) and s1.recall == pytest.approx(3 / 6)


def test_tokens_and_degenerate_inputs():
    assert tokenize("It's 2.0 -- the U.S.A.!") == ["it", "s", "2", "0", "the", "u", "s", "a"]
    assert rouge("", "anything")["rouge1"].fmeasure == 0.0
    assert rouge("same words", "same words")["rougeL"].fmeasure == 1.0
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4


def test_lead_takes_the_first_words_across_turns_and_meetings_load(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"meeting_id": "X1", "general_summary": "g",
                                "turns": [{"speaker": "A", "text": "one two"}, {"speaker": "B", "text": " "},
                                          {"speaker": "C", "text": "three four five"}]}) + "\n\n")
    [m] = load_meetings(path)
    t = transcript_of(m)
    assert [s.speaker for s in t.segments] == ["A", "C"] and all(s.start == 0 for s in t.segments)
    assert lead(t, 4) == "one two three four"
    (tmp_path / "bad.jsonl").write_text('{"meeting_id": "Y"}\n')
    with pytest.raises(BadRequest, match="bad.jsonl:1 is not a meeting"):
        load_meetings(tmp_path / "bad.jsonl")
