"""Confluence write calls for the minutes job: update a page, list a page's children, set read restrictions.

Beside `client.py` (which keeps reading, paging and the one retry loop): every call here goes through
`ConfluenceClient._send`, so it gets the same retries, backoff and error translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backend.confluence.client import ConfluenceClient

Json = dict[str, Any]

CHILD_PAGES = "/rest/api/content/{id}/child/page"
CONTENT = "/rest/api/content/{id}"
RESTRICTIONS = "/rest/api/content/{id}/restriction"
USER_PREFIX, GROUP_PREFIX = "confluence-user:", "confluence-group:"


class ConfluenceWriter:
    """The write side of one `ConfluenceClient` (same session, credentials, counters)."""

    def __init__(self, client: ConfluenceClient):
        self.client = client
        self._account: str | None = None

    def account_id(self) -> str:
        """The token user's account id: pages it created are the ones it may adopt after a crash."""
        if self._account is None:
            me = self.client.current_user()
            self._account = me.get("accountId") or me.get("userKey") or me.get("username") or ""
        return self._account

    def create_page(self, space: str, title: str, body: str, parent_id: str) -> Json:
        return self.client.create_page(space, title, body, parent_id=parent_id)

    def page(self, page_id: str) -> Json:
        return self.client.get_content(page_id, expand="version,space,ancestors,history")

    def update_page(self, page_id: str, title: str, body: str) -> Json:
        """A new version of the page with this title and storage body (the version read just before)."""
        current = self.client.get_content(page_id, expand="version")
        payload = {"id": page_id, "type": "page", "title": title,
                   "version": {"number": int(current["version"]["number"]) + 1, "minorEdit": False},
                   "body": {"storage": {"value": body, "representation": "storage"}}}
        url = self.client._url(CONTENT, id=page_id)
        return self.client._send("PUT", url, f"PUT {CONTENT}", json=payload).json()

    def child_pages(self, page_id: str) -> Iterator[Json]:
        yield from self.client._paged(CHILD_PAGES, {"expand": "history,version",
                                                    "limit": self.client.settings.page_size}, id=page_id)

    def set_read_restriction(self, page_id: str, identities: list[str]) -> Json:
        """Restrict reading `page_id` to these ACL identities (users and groups); [] lifts nothing and is refused."""
        users = [i[len(USER_PREFIX):] for i in identities if i.startswith(USER_PREFIX)]
        groups = [i[len(GROUP_PREFIX):] for i in identities if i.startswith(GROUP_PREFIX)]
        if not (users or groups):
            raise ValueError("a read restriction needs at least one user or group")
        user_key = "accountId" if self.client.cloud else "userKey"
        payload = [{"operation": "read", "restrictions": {
            "user": [{"type": "known", user_key: u} for u in users],
            "group": [{"type": "group", "name": g} for g in groups]}}]
        url = self.client._url(RESTRICTIONS, id=page_id)
        return self.client._send("PUT", url, f"PUT {RESTRICTIONS}", json=payload).json()

    def page_url(self, page: Json) -> str:
        """The page's web address: `_links.base` + `webui` when given, else the client's base."""
        links = page.get("_links", {})
        webui = links.get("webui", f"/pages/viewpage.action?pageId={page['id']}")
        base = links.get("base") or self.client.base
        return base.rstrip("/") + webui
