"""The stand-in's write routes beyond page creation, for the minutes job: update a page, list a page's child pages,
set a read restriction. Registered by `confluence_app.create_app` on its blueprint.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, g, jsonify, request

from tests.standins.confluence_payloads import content_json, expands, restrictions_json
from tests.standins.confluence_state import ConfluenceState, Content


def register_write_routes(api: Blueprint, state: ConfluenceState, find: Callable[[str], Content],
                          visible: Callable[[Content | None], bool]) -> None:
    from tests.standins.confluence_app import _error, _page

    @api.put("/rest/api/content/<content_id>")
    def update_content(content_id: str):
        body = request.get_json(force=True)
        with state.lock:
            item = find(content_id)
            number = int((body.get("version") or {}).get("number", 0))
            if number != item.version + 1:
                return _error(409, f"Version must be incremented on update. Current version is: {item.version}")
            title = (body.get("title") or item.title).strip()
            if title != item.title and any(c.space == item.space and c.title == title and c.type == "page"
                                           for c in state.contents.values()):
                return _error(400, f"A page with this title already exists: A page already exists with the title "
                                   f"{title} in this space")
            storage = ((body.get("body") or {}).get("storage") or {}).get("value")
            state.edit(content_id, body=storage, title=title)
            item.author = g.user.account_id
            return jsonify(content_json(state, item, {"space", "version", "ancestors"}))

    @api.get("/rest/api/content/<content_id>/child/page")
    def child_pages(content_id: str):
        with state.lock:
            find(content_id)
            rows = sorted((c for c in state.contents.values() if c.type == "page" and c.parent_id == content_id
                           and visible(c)), key=lambda c: int(c.id))
            ex = expands(request.args.get("expand"))
            return _page(state, rows, lambda c: content_json(state, c, ex), cursor_style=False)

    @api.put("/rest/api/content/<content_id>/restriction")
    def set_restrictions(content_id: str):
        body = request.get_json(force=True)
        ops = body if isinstance(body, list) else body.get("results", [])
        with state.lock:
            item = find(content_id)
            for op in ops:
                if op.get("operation") != "read":
                    continue  # the stand-in models read restrictions only
                subjects = op.get("restrictions") or {}
                users = {u.get("accountId") or u.get("userKey") or u.get("username") for u in subjects.get("user", [])}
                groups = {gr.get("name") for gr in subjects.get("group", [])}
                state.restrict(item.id, users={u for u in users if u}, groups={gr for gr in groups if gr})
            return jsonify({"results": [restrictions_json(state, item)], "size": 1})

