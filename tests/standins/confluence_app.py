"""A Confluence stand-in for tests and the demo: a small Flask app serving exactly the REST v1 routes
`backend.confluence.client` calls, with Cloud-shaped payloads, cursor paging, auth, permissions and faults.

    state = ConfluenceState(); seed_from_wiki(state, wiki_path)
    with serve(state) as server: client = ConfluenceClient(server.settings())
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus, urlencode

from flask import Blueprint, Flask, Response, g, jsonify, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server

from backend.settings import ConfluenceSettings
from tests.standins.confluence_cql import CQLError, email_from_user_cql, parse, sort_key
from tests.standins.confluence_payloads import (
    attachment_json,
    content_json,
    expands,
    group_json,
    restrictions_json,
    space_json,
    user_json,
)
from tests.standins.confluence_seed import second_sync, seed_from_wiki
from tests.standins.confluence_state import (
    SERVICE_EMAIL,
    SERVICE_PAT,
    SERVICE_TOKEN,
    Clock,
    ConfluenceState,
    Content,
    RequestRecord,
    User,
)
from tests.standins.confluence_write import register_write_routes

__all__ = ["ConfluenceState", "Clock", "User", "create_app", "serve", "StandinServer", "seed_from_wiki",
           "second_sync"]

DEFAULT_LIMIT = 25  # Cloud's default page size for v1 listings


def _error(status: int, message: str) -> Response:
    resp = jsonify({"statusCode": status, "message": message,
                    "data": {"authorized": status != 401, "valid": True, "errors": [], "successful": False}})
    resp.status_code = status
    return resp


def _limit(state: ConfluenceState) -> int:
    try:
        asked = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        asked = DEFAULT_LIMIT
    return max(1, min(asked, state.max_limit))


def _page(state: ConfluenceState, items: list[Any], render, cursor_style: bool) -> Response:
    """One page of `items` with Cloud's envelope; `_links.next` carries a cursor or a start offset."""
    limit = _limit(state)
    if cursor_style and request.args.get("cursor"):
        start = int(json.loads(base64.urlsafe_b64decode(request.args["cursor"]))["o"])
    else:
        start = int(request.args.get("start", 0))
    chunk = items[start : start + limit]
    path = request.path[len(state.base_path):]
    links = {"base": request.host_url.rstrip("/") + state.base_path, "context": state.base_path,
             "self": request.host_url.rstrip("/") + request.path}
    if start + limit < len(items):
        args = {k: v for k, v in request.args.items() if k not in ("start", "cursor", "next", "limit")}
        args["limit"] = str(limit)
        if cursor_style:
            token = base64.urlsafe_b64encode(json.dumps({"o": start + limit}).encode()).decode()
            args.update(cursor=token, next="true")
        else:
            args["start"] = str(start + limit)
        links["next"] = f"{path}?{urlencode(args)}"
    if start > 0:
        links["prev"] = f"{path}?{urlencode({**request.args, 'start': max(0, start - limit)})}"
    return jsonify({"results": [render(x) for x in chunk], "start": start, "limit": limit, "size": len(chunk),
                    "_links": links})


def create_app(state: ConfluenceState) -> Flask:
    app = Flask("confluence-standin")
    api = Blueprint("confluence", __name__, url_prefix=state.base_path or None)

    @api.before_request
    def _authenticate_and_fault() -> Response | None:
        path = request.path[len(state.base_path):]
        record = RequestRecord(request.method, path, dict(request.args))
        g.record = record
        with state.lock:
            state.requests.append(record)
            user = _auth_user(state) if request.headers.get("Authorization") else state.anonymous_visitor()
            record.user = user.account_id if user else None
            if user is None:
                return _error(401, "Unauthorized; credentials are missing, wrong or expired")
            g.user = user
            limit = int(request.args["limit"]) if request.args.get("limit", "").isdigit() else None
            fault = state.take_fault(request.method, request.full_path[len(state.base_path):], limit)
        if fault is not None:
            resp = jsonify(fault.body) if fault.body is not None else _error(fault.status, "injected fault")
            resp.status_code = fault.status
            resp.headers.update(fault.headers)
            return resp
        return None

    @api.after_request
    def _log_status(resp: Response) -> Response:
        if "record" in g:
            g.record.status = resp.status_code
            delay = state.take_delay(request.method, g.record.path)
            if delay:  # the change is made, the answer is late: a client may die before it hears it
                time.sleep(delay)
        return resp

    def visible(item: Content | None) -> bool:
        return item is not None and state.can_read(g.user, item)

    def find(content_id: str) -> Content:
        item = state.contents.get(content_id)
        if not visible(item):
            raise _NotFound(f"No content found with id: ContentId{{id={content_id}}}")
        return item

    @api.get("/rest/api/user/current")
    def current_user():
        return jsonify(user_json(g.user, full=True))

    @api.get("/rest/api/space")
    def spaces():
        with state.lock:
            seen = [key for key, sp in sorted(state.spaces.items()) if state.in_space(g.user, sp)]
            return _page(state, seen, lambda key: space_json(state, key), cursor_style=False)

    @api.get("/rest/api/space/<key>")
    def space(key: str):
        with state.lock:
            sp = state.spaces.get(key)
            if sp is None or not state.in_space(g.user, sp):
                return _error(404, f"No space with key : {key}")
            data = space_json(state, key)
            ex = expands(request.args.get("expand"))
            if "permissions" in ex:
                data["permissions"] = _space_permissions(state, sp)
            if "homepage" in ex and sp.homepage_id in state.contents:
                data["homepage"] = content_json(state, state.contents[sp.homepage_id], set())
            return jsonify(data)

    @api.get("/rest/api/content/search")
    def search():
        cql = request.args.get("cql", "")
        with state.lock:
            try:
                query = parse(cql, g.user.time_zone)
                key = sort_key(query.order_field)
            except CQLError as exc:
                return _error(400, str(exc))
            hits = [c for c in state.contents.values() if c.type != "comment" and c.status == "current"
                    and query.matches(c) and visible(c)]
            hits.sort(key=key, reverse=query.descending)
            ex = expands(request.args.get("expand"))
            return _page(state, hits, lambda c: content_json(state, c, ex), cursor_style=True)

    @api.get("/rest/api/content/<content_id>")
    def get_content(content_id: str):
        with state.lock:
            item = find(content_id)
            ex = expands(request.args.get("expand"))
            if "ancestors.restrictions" in ex and not all(visible(a) for a in state.ancestors(item)):
                # CONFCLOUD-77618: one unreadable ancestor (e.g. a draft) fails the whole expansion
                return _error(404, "No content found with id: ContentId{id=" + content_id + "}")
            data = content_json(state, item, ex)
            data["_links"].update(base=request.host_url.rstrip("/") + state.base_path, context=state.base_path)
            return jsonify(data)

    @api.post("/rest/api/content")
    def create_content():
        body = request.get_json(force=True)
        with state.lock:
            key = (body.get("space") or {}).get("key")
            if key not in state.spaces:
                return _error(400, f"No space with key : {key}")
            title = body.get("title", "").strip()
            if any(c.space == key and c.title == title and c.type == "page" for c in state.contents.values()):
                return _error(400, f"A page with this title already exists: A page already exists with the title "
                                   f"{title} in this space")
            parent = ((body.get("ancestors") or [{}])[-1]).get("id")
            if parent is not None:
                find(str(parent))
            storage = ((body.get("body") or {}).get("storage") or {}).get("value", "")
            item = state.add_content(body.get("type", "page"), key, title, storage, str(parent) if parent else None,
                                     author=g.user.account_id)
            return jsonify(content_json(state, item, {"space", "version", "body", "body.storage", "ancestors"}))

    register_write_routes(api, state, find, visible)

    @api.get("/rest/api/content/<content_id>/child/comment")
    def comments(content_id: str):
        with state.lock:
            find(content_id)
            rows = sorted((c for c in state.contents.values() if c.type == "comment" and c.parent_id == content_id),
                          key=lambda c: int(c.id))
            ex = expands(request.args.get("expand"))
            return _page(state, rows, lambda c: content_json(state, c, ex), cursor_style=False)

    @api.get("/rest/api/content/<content_id>/child/attachment")
    def attachments(content_id: str):
        with state.lock:
            find(content_id)
            rows = sorted((a for a in state.attachments.values() if a.page_id == content_id), key=lambda a: a.id)
            ex = expands(request.args.get("expand"))
            return _page(state, rows, lambda a: attachment_json(state, a, ex), cursor_style=False)

    @api.get("/rest/api/content/<content_id>/child/attachment/<att_id>/download")
    def download_cloud(content_id: str, att_id: str):
        # Cloud answers with a redirect to the file (to its media service); here to the classic route.
        with state.lock:
            find(content_id)
            att = state.attachments.get(att_id)
            if att is None or att.page_id != content_id:
                return _error(404, f"No attachment {att_id}")
            return redirect(f"{state.download_origin or ''}{state.base_path}/download/attachments/{content_id}/"
                            f"{quote_plus(att.title)}?version={att.version}&api=v2", code=302)

    @api.get("/download/attachments/<content_id>/<path:filename>")
    def download(content_id: str, filename: str):
        with state.lock:
            find(content_id)
            name = unquote_plus(filename)
            att = next((a for a in state.attachments.values() if a.page_id == content_id and a.title == name), None)
            if att is None:
                return _error(404, f"No attachment {name}")
        headers = {"Content-Length": str(att.size), "Content-Disposition": f'attachment; filename="{att.id}"'}
        return Response(att.read_chunks(), mimetype=att.media_type, headers=headers)

    @api.get("/rest/api/content/<content_id>/restriction/byOperation/read")
    def read_restriction(content_id: str):
        with state.lock:
            return jsonify(restrictions_json(state, find(content_id)))

    @api.get("/rest/api/search/user")
    def search_user():
        with state.lock:
            try:
                email = email_from_user_cql(request.args.get("cql", ""))
            except CQLError as exc:
                return _error(400, str(exc))
            users = [u for u in state.users.values() if u.email_visible and u.email.lower() == email.lower()]
            return _page(state, users, lambda u: {"user": user_json(u), "title": u.display_name,
                                                  "entityType": "user"}, cursor_style=False)

    @api.get("/rest/api/user")
    def user_by_username():
        # Data Center: a login name -> the user with its userKey; the stand-in's login is the email's local part
        name = request.args.get("username", "").lower()
        with state.lock:
            for u in state.users.values():
                if u.email and u.email.split("@")[0].lower() == name:
                    return jsonify({"type": "known", "username": name, "userKey": u.account_id,
                                    "displayName": u.display_name})
            return _error(404, f"No user with username {name}")

    @api.get("/rest/api/user/memberof")
    def memberof():
        with state.lock:
            # Cloud names the user by accountId, Data Center by userKey (the stand-in's keys are its account ids)
            cloud = state.base_path == "/wiki"
            user = state.users.get(request.args.get("accountId" if cloud else "key") or "")
            if user is None:
                return _error(404, "No user with this accountId")
            return _page(state, sorted(user.groups), group_json, cursor_style=False)

    @api.route("/rest/api/content/<content_id>/property/<key>", methods=["GET", "PUT"])
    def prop(content_id: str, key: str):
        with state.lock:
            find(content_id)
            current = state.properties.get((content_id, key))
            if request.method == "GET":
                return jsonify(current) if current else _error(404, f"No property {key}")
            body = request.get_json(force=True)
            number = int(body.get("version", {}).get("number", 0))
            if current is None or number != current["version"]["number"] + 1:
                return _error(409, "Version must be incremented on update")
            state.properties[(content_id, key)] = _property(content_id, key, body["value"], number)
            return jsonify(state.properties[(content_id, key)])

    @api.post("/rest/api/content/<content_id>/property")
    def prop_create(content_id: str):
        body = request.get_json(force=True)
        with state.lock:
            find(content_id)
            if (content_id, body["key"]) in state.properties:
                return _error(409, "Property already exists")
            state.properties[(content_id, body["key"])] = _property(content_id, body["key"], body["value"], 1)
            return jsonify(state.properties[(content_id, body["key"])])

    app.register_blueprint(api)

    @app.errorhandler(_NotFound)
    def _not_found(exc: _NotFound) -> Response:
        return _error(404, str(exc))

    @app.errorhandler(404)
    def _unknown_route(_exc: Exception) -> Response:
        return _error(404, f"null for uri: {request.path}")

    return app


class _NotFound(Exception):
    pass


def _property(content_id: str, key: str, value: Any, number: int) -> dict:
    return {"id": f"prop-{content_id}-{key}", "key": key, "value": value,
            "version": {"number": number, "minorEdit": False},
            "_links": {"self": f"/rest/api/content/{content_id}/property/{key}"}}


def _space_permissions(state: ConfluenceState, sp) -> list[dict]:
    op = {"operation": "read", "targetType": "space"}
    perms = [{"id": i, "operation": op, "anonymousAccess": False, "unlicensedAccess": False,
              "subjects": {"group": {"results": [group_json(name)], "size": 1}}}
             for i, name in enumerate(sorted(sp.read_groups), 1)]
    perms += [{"id": 100 + i, "operation": op, "anonymousAccess": False, "unlicensedAccess": False,
               "subjects": {"user": {"results": [user_json(state.users[a])], "size": 1}}}
              for i, a in enumerate(sorted(sp.read_users)) if a in state.users]
    if sp.anonymous:
        perms.append({"id": 999, "operation": op, "anonymousAccess": True, "unlicensedAccess": False})
    # other operations appear too in real answers; clients must filter on read/space
    perms.append({"id": 1000, "operation": {"operation": "create", "targetType": "page"}, "anonymousAccess": False,
                  "subjects": {"group": {"results": [group_json("confluence-users")], "size": 1}}})
    return perms


def _auth_user(state: ConfluenceState) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return state.user_for_token(value.strip())
    if scheme.lower() == "basic":
        try:
            email, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return state.user_for_token(secret, email=email)
    return None


@dataclass
class StandinServer:
    """A running stand-in: `url` is what LORE_CONFLUENCE_URL would be (base path included)."""

    state: ConfluenceState
    url: str
    _server: Any
    _thread: threading.Thread

    def settings(self, cloud: bool | None = None, **overrides: Any) -> ConfluenceSettings:
        """Settings for the token user: Basic email:token for a /wiki base, Bearer PAT otherwise."""
        cloud = self.state.base_path == "/wiki" if cloud is None else cloud
        creds = {"email": SERVICE_EMAIL, "api_token": SERVICE_TOKEN} if cloud else {"pat": SERVICE_PAT}
        values = {"url": self.url, "cloud": "true" if cloud else "false", **creds, **overrides}
        return ConfluenceSettings(**values)

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests assert on `state.requests` instead."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def start(state: ConfluenceState, host: str = "127.0.0.1", port: int = 0) -> StandinServer:
    """Serve the stand-in on a free port in a background thread (threaded: clients fetch in parallel)."""
    server = make_server(host, port, create_app(state), threaded=True, request_handler=_QuietHandler)
    # a short poll interval: shutdown() waits up to one interval, and tests start many servers
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="confluence-standin", daemon=True)
    thread.start()
    url = f"http://{host}:{server.server_port}{state.base_path}"
    return StandinServer(state, url, server, thread)


@contextmanager
def serve(state: ConfluenceState, host: str = "127.0.0.1", port: int = 0) -> Iterator[StandinServer]:
    server = start(state, host, port)
    try:
        yield server
    finally:
        server.shutdown()
