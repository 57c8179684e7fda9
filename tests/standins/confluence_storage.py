"""Markdown -> Confluence storage XHTML for seeding: headings, lists, confluenceTable tables, code macros,
page links as <ac:link><ri:page/>, and some macro chrome (toc, info) that a good converter must drop."""

from __future__ import annotations

import re
from collections.abc import Callable

from bs4 import BeautifulSoup, CData, Comment
from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": True, "xhtmlOut": True}).enable("table")

# (space key or None for the same space, page title) of the wiki page an href points at, or None
LinkResolver = Callable[[str], "tuple[str | None, str] | None"]


def markdown_to_storage(text: str, resolve: LinkResolver | None = None, toc: bool = False,
                        info: str | None = None) -> str:
    soup = BeautifulSoup(_MD.render(text), "html.parser")
    for tag in soup.find_all(["meta", "script", "style"]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for table in soup.find_all("table"):
        table["class"] = "wrapped confluenceTable"
        for cell in table.find_all(["td", "th"]):
            cell["class"] = "confluenceTd" if cell.name == "td" else "confluenceTh"
    for pre in soup.find_all("pre"):
        pre.replace_with(_code_macro(soup, pre))
    if resolve is not None:
        for a in soup.find_all("a", href=True):
            target = resolve(a["href"])
            if target:
                a.replace_with(_page_link(soup, *target, a.get_text()))
    chrome = ""
    if toc:
        chrome += '<ac:structured-macro ac:name="toc" ac:schema-version="1" ac:macro-id="toc-1"/>'
    if info:
        chrome += ('<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:rich-text-body>'
                   f"<p>{_escape(info)}</p></ac:rich-text-body></ac:structured-macro>")
    return chrome + str(soup).strip()


def _code_macro(soup: BeautifulSoup, pre) -> object:
    code = pre.find("code")
    language = ""
    if code is not None:
        for cls in code.get("class", []):
            if cls.startswith("language-"):
                language = cls[len("language-"):]
    body = (code or pre).get_text()
    macro = soup.new_tag("ac:structured-macro", attrs={"ac:name": "code", "ac:schema-version": "1"})
    if language:
        param = soup.new_tag("ac:parameter", attrs={"ac:name": "language"})
        param.string = language
        macro.append(param)
    plain = soup.new_tag("ac:plain-text-body")
    # "]]>" cannot sit inside CDATA: split it across two sections, as Confluence does
    plain.append(CData(body.replace("]]>", "]]]]><![CDATA[>")))
    macro.append(plain)
    return macro


def _page_link(soup: BeautifulSoup, space: str | None, title: str, label: str) -> object:
    link = soup.new_tag("ac:link")
    attrs = {"ri:content-title": title} | ({"ri:space-key": space} if space else {})
    link.append(soup.new_tag("ri:page", attrs=attrs))
    body = soup.new_tag("ac:plain-text-link-body")
    body.append(CData(label.replace("]]>", "")))
    link.append(body)
    return link


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def paragraphs(*texts: str) -> str:
    """Plain paragraphs as storage XHTML (blog posts, comments, edits)."""
    return "".join(f"<p>{_escape(t)}</p>" for t in texts)


def clean_title(title: str) -> str:
    return re.sub(r"<!--.*?-->", "", title).strip()
