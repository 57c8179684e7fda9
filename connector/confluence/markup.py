"""Getting a Confluence storage body into a tree, or failing that into words: the pre-parse repairs, the
forgiving parse, the tag-stripping fallback, and the link targets of a body.

Any page author writes this input, so every step is linear in its length (see the notes on each pattern) and
checks an optional `Deadline`. The rendering of the tree into chunker-ready text is connector/confluence/storage.py.
"""

from __future__ import annotations

import html
import logging
import re

from lxml import etree

from connector.budget import Deadline

log = logging.getLogger(__name__)

# --- pre-parse repairs -------------------------------------------------------------------------------------------
# The HTML parser turns CDATA into a bogus comment (and we drop comments), which would lose every code macro
# body; escaping it into plain text keeps it verbatim.
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.S)
# lxml refuses str input with an encoding declaration, and libxml2 rejects C0 control characters.
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Older libxml2 ignores `/>` on non-void elements, so `<ac:emoticon/> text` would swallow the text; spell
# self-closing tags out as an empty pair. The pattern matches EVERY start tag, complete or not (the `/>` is an
# optional group), with possessive quantifiers: each match only moves forward and the next search starts where
# it ended, so the text is scanned once. Requiring `/>` instead made every `<` rescan the rest of a broken tag:
# `"<x a " * n` took 7 s at 40 KB, hours at 2 MB. A `<` cannot sit in a tag name, attribute name or bare value.
_START_TAG = re.compile(
    r"""<([A-Za-z][\w:.-]*+)((?:\s++[^\s=/<>]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'<>]++))?+)*+)\s*+(/>)?"""
)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# `[^<>]`, not `[^>]`: an unclosed `<` must not scan to the next `>` far away (quadratic on "<<<<...").
_TAGS = re.compile(r"<[^<>]*+>")
BREAKS = re.compile(r"</?(?:p|div|h[1-6]|li|tr|br|table|ul|ol|pre)\b[^<>]*+>", re.I)
WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
# A `<br>` inside a paragraph must survive whitespace collapsing; a private-use code point marks it.
BR = "\ue000"


def storage_links(xhtml: str) -> list[str]:
    """Link targets in a storage body, in order, without duplicates: hrefs, linked page/blog titles, URLs."""
    try:
        root = parse(xhtml) if xhtml and xhtml.strip() else None
    except Exception:  # noqa: BLE001 - links are a nicety; a broken body just has none
        log.debug("storage body could not be parsed for links", exc_info=True)
        return []
    if root is None:
        return []
    seen: dict[str, None] = {}
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        target = ""
        if tag == "a":
            target = el.get("href", "")
            if target.startswith("#"):
                target = ""  # a jump within the same page is not a link to other content
        elif tag in ("ri:page", "ri:blog-post"):
            target = el.get("ri:content-title", "")
        elif tag == "ri:url":
            target = el.get("ri:value", "")
        target = target.strip()
        if target:
            seen.setdefault(target, None)
    return list(seen)


def parse(xhtml: str, deadline: Deadline | None = None) -> etree._Element | None:
    deadline = deadline or Deadline(None)
    text = _XML_DECL.sub("", xhtml, count=1)
    text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), text)
    text = _CONTROL.sub("", text)
    text = _START_TAG.sub(_expand_self_closing, text)
    deadline.check()
    parser = etree.HTMLParser(
        recover=True, remove_comments=True, remove_pis=True, no_network=True, huge_tree=True, encoding="utf-8"
    )
    # Bytes with an explicit encoding: lone surrogates (seen in API JSON) become "?" instead of an exception.
    root = etree.fromstring(text.encode("utf-8", "replace"), parser)
    if any(e.level == etree.ErrorLevels.FATAL for e in parser.error_log):
        # e.g. "Excessive depth in document": libxml2 stops and returns a truncated tree; stripping keeps the words
        raise ValueError(f"HTML parser gave up: {parser.error_log.last_error}")
    deadline.check()
    return root


def _expand_self_closing(m: re.Match[str]) -> str:
    name = m.group(1)
    if not m.group(3) or name.lower() in _VOID:  # an open tag (or a broken one): left as it is
        return m.group(0)
    return f"<{name}{m.group(2)}></{name}>"


def strip_tags(xhtml: str) -> str:
    text = _CDATA.sub(lambda m: m.group(1), xhtml)
    text = BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub(" ", text))
    return finish([line for line in (collapse(x) for x in text.split("\n")) if line])


def collapse(text: str) -> str:
    """Collapse whitespace in inline text; `<br>` markers become line breaks."""
    lines = (WS.sub(" ", part).strip() for part in text.split(BR))
    return "\n".join(line for line in lines if line)


def finish(blocks: list[str]) -> str:
    text = "\n\n".join(b for b in blocks if b.strip()).strip()
    return text + "\n" if text else ""
