"""The records that flow from a source to the index: a `Document` in, `Chunk`s out.

A source yields documents with a stable id (`confluence:page:123`), their ACL identities and their text;
the runner (connector) or the evaluation command hands them to `backend.indexer`.
ACL identities are prefixed strings: `confluence-user:<accountId>`, `confluence-group:<name>`,
`slack-channel:<id>`, `public`, or `*` (only the evaluation's "sees everything" user).
A document with no ACL identities is visible to no one (deny by default); `restrictions` narrows
`acl` further, level by level (see backend/acl.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLIC = "public"
# A Confluence space permission granted to "Anonymous" on a site that does not let anonymous visitors in: it
# reaches no further than people who log in, so it maps to this identity, which every matched asker carries.
CONFLUENCE_ANONYMOUS = "confluence-anonymous"


@dataclass
class Document:
    id: str  # stable across syncs: "<source>:<kind>:<native id>"
    title: str
    text: str  # plain text with Markdown-style headings ("# ", "## ") kept for the chunker
    url: str = ""
    source: str = "confluence"
    kind: str = "page"  # page | blogpost | comment | attachment | meeting | document
    space: str = ""  # Confluence space key or Slack channel id
    version: str = "1"
    updated: str | None = None  # ISO 8601
    acl: list[str] = field(default_factory=list)  # who may read at the container level (space, channel)
    # read restrictions of the page and of each restricted ancestor, one list of identities per level:
    # a reader must match `acl` AND one identity of every level (Confluence's inherited restrictions)
    restrictions: list[list[str]] = field(default_factory=list)
    parent_id: str | None = None  # comments, attachments, transcripts: the doc id of the page they belong to
    ancestors: list[str] = field(default_factory=list)  # page ids from the root down, for moves


@dataclass
class Chunk:
    id: str  # deterministic: "<doc id>#<n>"
    doc_id: str
    n: int
    title: str
    heading_path: list[str]
    text: str

    def embed_text(self) -> str:
        """What the embedding model sees: the title and headings give a short chunk its context."""
        head = " > ".join(h for h in [self.title, *self.heading_path] if h.strip())
        return f"{head}\n{self.text}" if head else self.text


def chunk_id(doc_id: str, n: int) -> str:
    return f"{doc_id}#{n}"
