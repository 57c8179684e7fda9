"""Confluence REST v1 routes, CQL templates and limits in one place, each with the reason it is what it is.

Routes are relative to the REST root: `<site>/wiki` on Cloud, `<base>` (context path included) on Data Center.
"""

from __future__ import annotations

# v1 is still the only home of CQL search and content restrictions on Cloud, and the only API on DC
# (REFERENCE.md, "Two REST surfaces"). Every route the client calls is listed here; a test asserts them.
CURRENT_USER = "/rest/api/user/current"
SPACE = "/rest/api/space/{key}"
SPACES = "/rest/api/space"  # the spaces the token user can see (the admin page offers them)
CONTENT_SEARCH = "/rest/api/content/search"
CONTENT = "/rest/api/content/{id}"
CONTENT_CREATE = "/rest/api/content"
CHILD_COMMENTS = "/rest/api/content/{id}/child/comment"
CHILD_ATTACHMENTS = "/rest/api/content/{id}/child/attachment"
ATTACHMENT_DOWNLOAD = "/rest/api/content/{id}/child/attachment/{att_id}/download"  # Cloud only
READ_RESTRICTIONS = "/rest/api/content/{id}/restriction/byOperation/read"
USER_SEARCH = "/rest/api/search/user"
USER_MEMBEROF = "/rest/api/user/memberof"
USER = "/rest/api/user"  # Data Center: ?username=<login> -> userKey (the DC macro names its viewer by login)
PROPERTY = "/rest/api/content/{id}/property/{key}"
PROPERTY_CREATE = "/rest/api/content/{id}/property"

# Cloud sites live under /wiki; Data Center serves REST under its own base (with any context path).
CLOUD_HOST_SUFFIX = ".atlassian.net"
CLOUD_CONTEXT = "/wiki"

# CQL dates are minute precision in the token user's timezone (REFERENCE.md, "Incremental sync").
CQL_DATE_FORMAT = "%Y-%m-%d %H:%M"
CQL_SPACE_CONTENT = 'type in (page, blogpost) and space = "{space}"'
CQL_MODIFIED_SINCE = CQL_SPACE_CONTENT + ' and lastmodified >= "{since}" order by lastmodified asc'

DEFAULT_CONTENT_EXPAND = "body.storage,version,ancestors,space,history.lastUpdated"
# Ancestor restrictions in one call; CONFCLOUD-77618: one unreadable ancestor (a draft) 404s the whole
# call, so the client falls back to one restrictions call per level.
RESTRICTIONS_EXPAND = (
    "restrictions.read.restrictions.user,restrictions.read.restrictions.group,"
    "ancestors,ancestors.restrictions.read.restrictions.user,ancestors.restrictions.read.restrictions.group"
)

# Data Center instances with rate limiting on answer 403 (not 429) when throttled; these markers tell a
# throttle from a real permission error.
THROTTLE_MARKERS = ("rate limit", "ratelimit", "too many requests", "throttl")
THROTTLE_HEADERS = ("retry-after", "x-ratelimit-remaining", "x-ratelimit-limit", "x-ratelimit-reset")

# A flaky network gets a couple of quick retries; a server that is down should fail fast enough for the
# admin page's "test connection" button, so connection errors get fewer tries than throttling does.
CONNECTION_TRIES = 3
BACKOFF_BASE_SECONDS = 1.0  # first backoff window: 0-1 s, then 0-2, 0-4 ... capped at backoff_cap
DOWNLOAD_CHUNK_BYTES = 1 << 20  # 1 MiB: few syscalls, bounded memory, and the size cap reacts quickly
MIN_PAGE_SIZE = 1
