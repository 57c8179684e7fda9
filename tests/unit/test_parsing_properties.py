"""Property tests: the storage converter, the chunker and the answer context's compaction take ANY text a page
author can write without raising, and what comes out is bounded by what went in (nothing grows without limit).

Derandomized with modest example counts: the same cases on every run and in CI, the file in a few seconds.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.answers.context import compact
from backend.chunking import MAX_HEADING_CHARS, _heading, chunk_document
from backend.documents import Document
from connector.confluence.markup import storage_links
from connector.confluence.storage import storage_to_text
from tests.timing import finishes_within

PROPERTY = settings(max_examples=200, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Pieces of storage XHTML, broken on purpose: tags that never close, unclosed quotes, CDATA, macros, entities.
MARKUP = [
    "<p>", "</p>", "<ul>", "<ol start='3'>", "<li>", "</li>", "</ul>", "<table>", "<tr>", "<td>", "</td>", "<th>",
    "<td colspan='50'>", "<h1>", "<h6>", "</h1>", "<br/>", "<pre>", "</pre>", "<x a ", "<x a='", '"', "/>", "<", ">",
    "<![CDATA[", "]]>", "<!--", "-->", "&amp;", "&bogus;", "&#99999999;", "`", "```", "#", "\n", " ", "\x00", "\ud800",
    '<ac:structured-macro ac:name="code"><ac:plain-text-body>', '<ac:structured-macro ac:name="html">',
    "<ac:plain-text-body>", '<ac:structured-macro ac:name="expand"><ac:rich-text-body>', "</ac:structured-macro>",
    "<ac:task-list><ac:task><ac:task-status>complete</ac:task-status><ac:task-body>", "<ac:link>",
    '<ri:user ri:account-id="u1"/>', '<ri:page ri:content-title="Q&amp;A"/>', '<a href="https://x.org/a">', "</a>",
    '<ac:image><ri:url ri:value="https://x.org/i.png"/></ac:image>', "words", "more words",
]
markup = st.lists(st.one_of(st.sampled_from(MARKUP), st.text(max_size=6)), max_size=60).map("".join)
# Lines a converter or an attachment can hand the chunker: headings of every depth, fences, runs of marks.
LINES = ["#", "# ", "## Title", "####### seven", "# C# tips ##", "```", "``` python", "word", "two words", "- item",
         "#" * 12, " ", "\t", "\u00a0", "x" * 40, "## " + "a paragraph that starts with marks " * 10]
lines = st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=12)), max_size=80).map("\n".join)
# The largest factor between input and output is list indentation: two spaces a level, ~120 levels at most
# (~44x for `"<ul>" * 119 + "<li>x" * n`); table padding for colspans comes next.
MAX_GROWTH = 64


@PROPERTY
@given(st.one_of(st.text(), markup))
def test_storage_conversion_never_raises_and_stays_bounded(xhtml: str) -> None:
    out = storage_to_text(xhtml)
    assert isinstance(out, str) and len(out) <= MAX_GROWTH * len(xhtml)
    assert out == "" or out.endswith("\n")
    links = storage_links(xhtml)
    assert len(links) == len(set(links)) and sum(map(len, links)) <= len(xhtml)


@PROPERTY
@given(st.one_of(st.text(), lines), st.integers(min_value=2, max_value=30), st.integers(min_value=0, max_value=10),
       st.sampled_from([0, 0, 5, 40]))  # merge_below: off (the old behaviour), small, larger than a chunk
@example("## " + "a paragraph that starts with marks " * 10 + "\nand goes on", 20, 5, 0)
def test_chunking_never_raises_loses_no_word_and_stays_bounded(text: str, words: int, overlap: int,
                                                               merge: int) -> None:
    overlap = min(overlap, words - 1)
    got = list(chunk_document(Document(id="d", title="T", text=text), words, overlap, merge))
    assert [c.n for c in got] == list(range(len(got)))
    for c in got:
        assert c.text.strip() and len(c.text.split()) <= words
        assert len(c.heading_path) <= 6 and all(len(h) <= MAX_HEADING_CHARS for h in c.heading_path)
    # no word of the body is lost (a heading with nothing under it has no chunk to carry it, as before)
    assert set(_body_words(text)) <= {w for c in got for w in c.text.split()}
    # overlap repeats at most `overlap` words per chunk: the output is bounded by the input
    assert sum(len(c.text.split()) for c in got) <= len(text.split()) + overlap * len(got)


@PROPERTY
@given(st.one_of(st.text(), markup))
def test_answer_context_compaction_never_raises_and_only_shrinks(text: str) -> None:
    out = compact(text)
    assert isinstance(out, str) and len(out) <= len(text)


# One short piece repeated tens of thousands of times after an opener: the shape of every super-linear input
# found so far (a backtracking regexp rescans the run from each of its positions).
OPENERS = ["", "# ", "## x ", "<div>", "<pre>", "<tr>", "<table><tr>", "<ac:structured-macro ac:name=\"html\">"]
PIECES = ["#", " ", "`", "<", "<x a ", "<p ", "<!--", "<tr>", "<td>", "[a](http://", "w ", "- ", "<![CDATA[", "<a ",
          "\n\n ", '<x a="', "<x/>", "&amp;"]
runs = st.builds(lambda opener, piece, n: opener + piece * n, st.sampled_from(OPENERS), st.sampled_from(PIECES),
                 st.integers(min_value=5_000, max_value=40_000))


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs)
def test_long_runs_of_one_piece_take_linear_time(text: str) -> None:
    # up to ~400 KB: linear code needs well under a second here; the quadratic patterns needed seconds to minutes
    with finishes_within(3, f"processing {text[:30]!r}... ({len(text)} characters)"):
        storage_to_text(text)
        for _ in chunk_document(Document(id="d", title="T", text=text)):
            pass
        compact(text)


def _body_words(text: str) -> list[str]:
    """Words of the lines that are not headings (a `#` line inside a ``` fence is code, not a heading)."""
    out, in_code = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code or not _heading(line):
            out += line.split()
    return out
