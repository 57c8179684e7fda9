"""Confluence storage format (XHTML with `ac:`/`ri:` macros) to plain text that keeps headings, lists and tables.

The output is what the heading-aware chunker reads: `#` heading lines, `- item` lists, `| a | b |` table rows,
fenced code blocks, paragraphs separated by blank lines. Storage bodies are often not well-formed XML, so we
parse with libxml2's forgiving HTML parser (connector/confluence/markup.py, with the pre-parse repairs) and never
raise: on total failure we fall back to tag stripping. Any page author writes this input, so every step is
linear in its length (a 2 MB body converts in about a second whatever it holds) and checks an optional
`Deadline` as it goes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from connector.budget import Deadline, OverBudget
from connector.confluence.markup import BR, WS, collapse, finish, parse, strip_tags

log = logging.getLogger(__name__)

_BACKTICKS = re.compile(r"`{3,}")
_SCHEME = re.compile(r"^(?:https?://|mailto:)", re.I)

_BLOCK = frozenset(
    """p div section article header footer main aside nav figure figcaption blockquote center address form fieldset
    details summary dl dt dd hr body html li tr caption ac:layout ac:layout-section ac:layout-cell
    ac:rich-text-body ac:task-list ac:adf-extension ac:adf-fallback ac:adf-content""".split()
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_DROP = frozenset(
    """script style head title noscript template ac:parameter ac:placeholder ac:emoticon ac:task-id ac:task-uuid
    ac:default-parameter ac:adf-attribute ac:adf-parameter ac:inline-comment-marker-ref""".split()
)
# Macros that are page chrome or live lookups: their parameters and bodies are never content.
_DROP_MACROS = frozenset(
    """toc toc-zone children jira jiraissues anchor recently-updated pagetree pagetreesearch contentbylabel
    content-by-label livesearch search include excerpt-include blog-posts attachments viewfile view-file
    profile profile-picture gallery roadmap create-from-template contributors contributors-summary
    page-index popular-labels related-labels listlabels spaces recently-used-labels change-history
    space-details create-space-button network rss html-include iframe widget multimedia""".split()
)
# Macros whose plain-text body is literal text, kept verbatim in a fence.
_CODE_MACROS = frozenset({"code", "noformat", "code-block", "sql", "sql-query"})
# Table cells beyond this colspan are junk markup; a cap keeps `colspan="100000"` from building huge rows.
_MAX_COLSPAN = 50
# Deeper than this (unclosed tags pile up in broken markup) we flatten to plain text instead of recursing,
# so Python's recursion limit is never the thing that decides.
_MAX_DEPTH = 120


def storage_to_text(xhtml: str, deadline: Deadline | None = None) -> str:
    """Convert a storage-format body to structured plain text.

    Never raises, except `OverBudget` when `deadline` passes before the conversion is done.
    """
    return _convert(xhtml or "", deadline or Deadline(None), in_html=False)


def _convert(xhtml: str, deadline: Deadline, in_html: bool) -> str:
    if not xhtml.strip():
        return ""
    try:
        root = parse(xhtml, deadline)
        if root is None:
            return ""
        return finish(_Renderer(deadline, in_html).blocks(root, 0))
    except OverBudget:
        raise
    except Exception:  # noqa: BLE001 - a page we cannot parse still has words worth indexing
        log.debug("storage body could not be parsed; falling back to tag stripping", exc_info=True)
        deadline.check()
        return strip_tags(xhtml)


def _bare(url: str) -> str:
    """A URL as people write it in text: `www.x.org/a` is the same link as `https://www.x.org/a/`."""
    return _SCHEME.sub("", url.strip()).rstrip("/").lower()


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""  # comments/PIs have a function as tag


def _fence(body: str, lang: str = "") -> str:
    body = body.strip("\n")
    # a longer fence than any backtick run inside keeps the block intact (one scan: growing the fence a tick at a
    # time and searching again was quadratic on a body of backticks)
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def _macro_name(el: etree._Element) -> str:
    return (el.get("ac:name") or "").strip().lower()


def _param(el: etree._Element, name: str) -> str:
    for child in el:
        if _tag(child) == "ac:parameter" and (child.get("ac:name") or "").lower() == name:
            return "".join(child.itertext()).strip()
    return ""


@dataclass
class _Flow:
    """Consumes a mixed stream of inline text and finished blocks, turning runs of inline text into paragraphs."""

    blocks: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)

    def flush(self) -> None:
        if self.inline:
            text = collapse("".join(self.inline))
            if text:
                self.blocks.append(text)
            self.inline.clear()


class _Renderer:
    """Walks the parsed tree. `blocks()` renders a container; `_node()` yields str (inline) or list (blocks)."""

    def __init__(self, deadline: Deadline, in_html: bool = False):
        self.deadline = deadline
        self.in_html = in_html  # inside an html macro's body: a nested one is not parsed again

    def blocks(self, el: etree._Element, depth: int) -> list[str]:
        flow = _Flow()
        for item in self._children(el, depth):
            if isinstance(item, str):
                flow.inline.append(item)
            else:
                flow.flush()
                flow.blocks.extend(item)
        flow.flush()
        return flow.blocks

    def inline(self, el: etree._Element, depth: int) -> str:
        """Everything under `el` as one line of text (blocks joined with spaces)."""
        parts: list[str] = []
        for item in self._children(el, depth):
            parts.append(item if isinstance(item, str) else " " + " ".join(item) + " ")
        return WS.sub(" ", "".join(parts).replace(BR, " ")).strip()

    def _children(self, el: etree._Element, depth: int) -> Iterator[str | list[str]]:
        if el.text:
            yield el.text
        for child in el:
            yield from self._node(child, depth + 1)
            if child.tail:
                yield child.tail

    def _node(self, el: etree._Element, depth: int) -> Iterator[str | list[str]]:
        tag = _tag(el)
        if not tag or tag in _DROP:
            return
        self.deadline.check()  # once per element: ~50 ns against the microseconds an element costs
        if depth > _MAX_DEPTH:
            yield " " + " ".join(t for t in el.itertext()) + " "
            return
        if tag in _HEADINGS:
            text = self.inline(el, depth)
            if text:
                yield [f"{'#' * _HEADINGS[tag]} {text}"]
        elif tag in ("ul", "ol", "ac:task-list"):
            yield self._list(el, depth, 0)
        elif tag == "table":
            yield self._table(el, depth)
        elif tag == "pre":
            body = "".join(_verbatim_text(el))
            if body.strip():
                yield [_fence(body)]
        elif tag == "br":
            yield BR
        elif tag == "hr":
            yield []
        elif tag in ("ac:structured-macro", "ac:macro"):
            yield from self._macro(el, depth)
        elif tag == "a":
            yield from self._anchor(el, depth)
        elif tag == "ac:link":
            yield self._ac_link(el, depth)
        elif tag in ("ac:image", "img"):
            yield self._image(el)
        elif tag in ("ri:user", "ri:page", "ri:blog-post", "ri:attachment", "ri:space", "ri:url"):
            yield self._resource(el, "")
        elif tag == "time":
            yield el.get("datetime") or self.inline(el, depth)
        elif tag == "ac:adf-extension":
            fallback = next((c for c in el if _tag(c) == "ac:adf-fallback"), None)
            if fallback is not None:
                yield self.blocks(fallback, depth)
        elif tag == "ac:task":  # a task outside a task list (broken markup)
            yield ["\n".join(self._list_lines([el], depth, 0))]
        elif tag in _BLOCK:
            yield self.blocks(el, depth)
        else:  # inline or unknown: transparent, so blocks nested in it (broken markup) still split
            yield from self._children(el, depth)

    # --- macros ----------------------------------------------------------------------------------------------
    def _macro(self, el: etree._Element, depth: int) -> Iterator[str | list[str]]:
        name = _macro_name(el)
        if name in _DROP_MACROS:
            return
        if name == "status":  # a lozenge: its title parameter is the visible text ("DONE", "AT RISK")
            yield f" {_param(el, 'title')} "
            return
        plain = next((c for c in el if _tag(c) == "ac:plain-text-body"), None)
        if name == "html" and plain is not None:  # raw HTML pasted into the page: convert it like the page
            body = "".join(plain.itertext())
            # once: html macros nested in html macros (an unclosed CDATA repeated) re-parsed the rest of the page
            # at every level, ~100 levels deep before Python's recursion limit stopped it
            yield [(strip_tags(body) if self.in_html else _convert(body, self.deadline, in_html=True)).strip()]
            return
        if name in _CODE_MACROS or plain is not None:
            if plain is not None:
                body = "".join(plain.itertext())
                if body.strip():
                    lang = _param(el, "language") if name == "code" else ""
                    yield [_fence(body, re.sub(r"[^\w+#.-]", "", lang))]
            return
        rich = next((c for c in el if _tag(c) == "ac:rich-text-body"), None)
        if rich is not None:
            # Panels, expand, section/column, excerpt...: the body is content, the parameters are chrome.
            title = _param(el, "title") if name == "expand" else ""
            body = self.blocks(rich, depth)
            yield ([title] if title else []) + body

    # --- links and resources ---------------------------------------------------------------------------------
    def _anchor(self, el: etree._Element, depth: int) -> Iterator[str | list[str]]:
        text = self.inline(el, depth)
        href = (el.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:")) and _bare(href) != _bare(text):
            yield f"{text} ({href})" if text else href
        else:
            yield text

    def _ac_link(self, el: etree._Element, depth: int) -> str:
        body = ""
        resource = None
        for child in el:
            tag = _tag(child)
            if tag in ("ac:link-body", "ac:plain-text-link-body"):
                body = self.inline(child, depth)
            elif tag.startswith("ri:"):
                resource = child
        if resource is not None:
            return self._resource(resource, body)
        return body or (el.get("ac:anchor") or "")

    def _resource(self, el: etree._Element, body: str) -> str:
        tag = _tag(el)
        if tag == "ri:user":
            who = body or el.get("ri:username") or el.get("ri:userkey") or el.get("ri:account-id") or "user"
            return f"@{who.lstrip('@')}"
        if body:
            return body
        attr = {
            "ri:page": "ri:content-title",
            "ri:blog-post": "ri:content-title",
            "ri:attachment": "ri:filename",
            "ri:space": "ri:space-key",
            "ri:url": "ri:value",
        }.get(tag, "")
        return el.get(attr, "") if attr else ""

    def _image(self, el: etree._Element) -> str:
        if "emoticon" in (el.get("class") or ""):
            return ""
        name = el.get("ac:alt") or el.get("alt") or el.get("ac:title") or el.get("title") or ""
        if not name:
            for child in el:
                tag = _tag(child)
                if tag == "ri:attachment":
                    name = child.get("ri:filename", "")
                elif tag == "ri:url":
                    name = child.get("ri:value", "").rsplit("/", 1)[-1]
        if not name and _tag(el) == "img":
            name = (el.get("src") or "").split("?", 1)[0].rsplit("/", 1)[-1]
        name = WS.sub(" ", name).strip()
        return f" [image: {name}] " if name else ""

    # --- lists -----------------------------------------------------------------------------------------------
    def _list(self, el: etree._Element, depth: int, level: int) -> list[str]:
        lines = self._list_lines(list(el), depth, level, ordered=_tag(el) == "ol", start=el.get("start"))
        return ["\n".join(lines)] if lines else []

    def _list_lines(
        self, items: list[etree._Element], depth: int, level: int, ordered: bool = False, start: str | None = None
    ) -> list[str]:
        indent = "  " * level
        if depth > _MAX_DEPTH:  # lists nested past any real page (broken markup): the words, on one line
            return [indent + "- " + " ".join(" ".join(t.split()) for i in items for t in i.itertext()).strip()]
        lines: list[str] = []
        n = int(start) if start and start.strip().isdigit() else 1
        for item in items:
            tag = _tag(item)
            if tag in ("ul", "ol", "ac:task-list"):  # a list directly inside a list (invalid but common)
                lines.extend(self._list_lines(list(item), depth + 1, level + 1, tag == "ol", item.get("start")))
                continue
            if tag not in ("li", "ac:task"):
                text = self.inline(item, depth + 1) if tag and tag not in _DROP else ""
                if text:
                    lines.append(f"{indent}  {text}")
                continue
            marker = f"{n}." if ordered else "-"
            n += 1
            body_el = item
            if tag == "ac:task":
                done = any(_tag(c) == "ac:task-status" and "".join(c.itertext()).strip() == "complete" for c in item)
                marker = "- [x]" if done else "- [ ]"
                body_el = next((c for c in item if _tag(c) == "ac:task-body"), item)
            text_parts: list[str] = []
            nested: list[str] = []
            for child_item in self._li_children(body_el, depth + 1, level):
                if isinstance(child_item, tuple):
                    nested.extend(child_item[1])
                else:
                    text_parts.append(child_item)
            first, *rest = [p for p in text_parts if p] or [""]
            lines.append(f"{indent}{marker} {first}".rstrip())
            lines.extend(f"{indent}  {line}" for p in rest for line in p.split("\n"))
            lines.extend(nested)
        return lines

    def _li_children(self, li: etree._Element, depth: int, level: int) -> Iterator[str | tuple[str, list[str]]]:
        """An item's own text (as paragraphs) and its nested lists (as ready lines), in order."""
        flow = _Flow()
        text = [li.text or ""]
        for child in li:
            tag = _tag(child)
            if tag in ("ul", "ol", "ac:task-list"):
                flow.inline.extend(text)
                text = []
                flow.flush()
                yield from flow.blocks
                flow.blocks.clear()
                yield ("list", self._list_lines(list(child), depth + 1, level + 1, tag == "ol", child.get("start")))
            else:
                for item in self._node(child, depth + 1):
                    if isinstance(item, str):
                        text.append(item)
                    else:
                        flow.inline.extend(text)
                        text = []
                        flow.flush()
                        flow.blocks.extend(item)
            text.append(child.tail or "")
        flow.inline.extend(text)
        flow.flush()
        yield from flow.blocks

    # --- tables ----------------------------------------------------------------------------------------------
    def _table(self, el: etree._Element, depth: int) -> list[str]:
        lines: list[str] = []
        caption = ""
        header_done = False
        for row, in_head in _rows(el):
            cells: list[str] = []
            all_th = True
            for cell in row:
                tag = _tag(cell)
                if tag not in ("td", "th"):
                    continue
                all_th &= tag == "th"
                # most cells are bare text: skip the walk for them (tables dominate big pages)
                text = " ".join((cell.text or "").split()) if len(cell) == 0 else " ".join(self.blocks(cell, depth + 1))
                text = text.replace("\n", " ").replace("|", "\\|")
                cells.append(text.strip())
                span = cell.get("colspan", "1").strip()
                extra = min(int(span), _MAX_COLSPAN) - 1 if span.isdigit() else 0
                cells.extend([""] * max(extra, 0))
            if not any(cells):  # spacer rows and empty grids carry nothing a reader would search for
                continue
            lines.append("| " + " | ".join(cells) + " |")
            if len(lines) == 1 and (in_head or all_th) and not header_done:
                lines.append("|" + " --- |" * len(cells))
                header_done = True
        for child in el:
            if _tag(child) == "caption":
                caption = self.inline(child, depth + 1)
        return ([caption] if caption else []) + (["\n".join(lines)] if lines else [])


def _rows(table: etree._Element) -> Iterator[tuple[etree._Element, bool]]:
    """Rows of this table only (not of tables nested in its cells), flagging those in a <thead>."""
    for child in table:
        tag = _tag(child)
        if tag == "tr":
            yield child, False
        elif tag in ("thead", "tbody", "tfoot"):
            for row in child:
                if _tag(row) == "tr":
                    yield row, tag == "thead"


def _verbatim_text(el: etree._Element) -> Iterator[str]:
    if el.text:
        yield el.text
    for child in el:
        if _tag(child) == "br":
            yield "\n"
        elif _tag(child):
            yield from _verbatim_text(child)
        if child.tail:
            yield child.tail
