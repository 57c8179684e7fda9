"""JSON shapes of Confluence Cloud REST v1, built from stand-in state with `expand` honoured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from tests.standins.confluence_state import Attachment, ConfluenceState, Content, User

Json = dict[str, Any]


def iso(when: datetime) -> str:
    """Confluence's timestamp format: UTC with milliseconds and a Z."""
    w = when.astimezone(UTC)
    return w.strftime("%Y-%m-%dT%H:%M:%S.") + f"{w.microsecond // 1000:03d}Z"


def expands(raw: str | None) -> set[str]:
    """"a.b,c" -> {"a", "a.b", "c"}: asking for a.b implies a."""
    out: set[str] = set()
    for item in filter(None, (raw or "").split(",")):
        parts = item.strip().split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def user_json(user: User, full: bool = False) -> Json:
    data: Json = {"type": "known", "accountId": user.account_id, "accountType": "atlassian",
                  "publicName": user.display_name, "displayName": user.display_name,
                  "profilePicture": {"path": "/wiki/aa-avatar/default.png", "width": 48, "height": 48}}
    if user.email_visible or full:
        data["email"] = user.email
    if full:
        data["timeZone"] = user.time_zone
    return data


def group_json(name: str) -> Json:
    return {"type": "group", "name": name, "id": f"grp-{name}"}


def webui(state: ConfluenceState, item: Content) -> str:
    slug = quote_plus(item.title)
    if item.type == "blogpost":
        return f"/spaces/{item.space}/blog/{item.created:%Y/%m/%d}/{item.id}/{slug}"
    if item.type == "comment":
        page = state.contents.get(item.parent_id or "")
        page_slug = quote_plus(page.title) if page else ""
        return f"/spaces/{item.space}/pages/{item.parent_id}/{page_slug}?focusedCommentId={item.id}#comment-{item.id}"
    return f"/spaces/{item.space}/pages/{item.id}/{slug}"


def version_json(state: ConfluenceState, number: int, when: datetime, author: str) -> Json:
    user = state.users.get(author)
    return {"by": user_json(user) if user else {"type": "unknown"}, "when": iso(when),
            "number": number, "message": "", "minorEdit": False}


def restrictions_json(state: ConfluenceState, item: Content) -> Json:
    users = [user_json(state.users[u]) for u in sorted(item.read_users) if u in state.users]
    groups = [group_json(g) for g in sorted(item.read_groups)]
    return {
        "operation": "read",
        "restrictions": {
            "user": {"results": users, "start": 0, "limit": 200, "size": len(users)},
            "group": {"results": groups, "start": 0, "limit": 200, "size": len(groups)},
        },
        "_expandable": {"content": f"/rest/api/content/{item.id}"},
        "_links": {"self": f"/rest/api/content/{item.id}/restriction/byOperation/read"},
    }


def space_json(state: ConfluenceState, key: str) -> Json:
    space = state.spaces[key]
    return {"id": space.id, "key": key, "name": space.name, "type": "global", "status": "current",
            "_links": {"webui": f"/spaces/{key}", "self": f"/rest/api/space/{key}"}}


def content_json(state: ConfluenceState, item: Content, expand: set[str], nested: bool = False) -> Json:
    data: Json = {"id": item.id, "type": item.type, "status": item.status, "title": item.title}
    links = {"webui": webui(state, item), "self": f"/rest/api/content/{item.id}", "tinyui": f"/x/{item.id}"}
    if "space" in expand:
        data["space"] = space_json(state, item.space)
    if "version" in expand:
        data["version"] = version_json(state, item.version, item.when, item.author)
    if "history" in expand:
        data["history"] = {"latest": True, "createdBy": user_json(state.users[item.author]),
                           "createdDate": iso(item.created)}
        if "history.lastUpdated" in expand:
            data["history"]["lastUpdated"] = version_json(state, item.version, item.when, item.author)
    if "body" in expand:
        data["body"] = {"_expandable": {"view": "", "export_view": "", "atlas_doc_format": ""}}
        if "body.storage" in expand:
            data["body"]["storage"] = {"value": item.body, "representation": "storage", "embeddedContent": []}
    if "restrictions" in expand and not nested:
        data["restrictions"] = {"read": restrictions_json(state, item)}
    if "ancestors" in expand and not nested:
        sub = {e[len("ancestors."):] for e in expand if e.startswith("ancestors.")}
        chain = state.ancestors(item)
        data["ancestors"] = [_nested(state, a, sub) for a in chain]
    if item.type == "comment" and "container" in expand and item.parent_id in state.contents:
        data["container"] = content_json(state, state.contents[item.parent_id], set(), nested=True)
    if item.type == "comment":
        data["extensions"] = {"location": "footer"}
    data["_expandable"] = {k: "" for k in ("children", "descendants", "container", "metadata")
                           if k not in expand}
    data["_links"] = links
    return data


def _nested(state: ConfluenceState, item: Content, expand: set[str]) -> Json:
    data = content_json(state, item, expand - {"ancestors"}, nested=True)
    if "restrictions" in expand:
        data["restrictions"] = {"read": restrictions_json(state, item)}
    return data


def attachment_json(state: ConfluenceState, att: Attachment, expand: set[str]) -> Json:
    page = state.contents[att.page_id]
    download = f"/download/attachments/{att.page_id}/{quote_plus(att.title)}?version={att.version}&api=v2"
    if state.download_origin:
        download = state.download_origin + download
    data: Json = {
        "id": att.id, "type": "attachment", "status": "current", "title": att.title,
        "metadata": {"mediaType": att.media_type, "comment": att.comment, "labels": {"results": [], "size": 0}},
        "extensions": {"mediaType": att.media_type, "fileSize": att.size, "comment": att.comment,
                       "fileId": f"file-{att.id}"},
        "_links": {"webui": f"/pages/viewpageattachments.action?pageId={att.page_id}&preview={quote_plus(att.title)}",
                   "download": download, "self": f"/rest/api/content/{att.id}"},
    }
    if "version" in expand:
        data["version"] = version_json(state, att.version, att.when, page.author)
    if "container" in expand:
        data["container"] = content_json(state, page, set(), nested=True)
    return data
