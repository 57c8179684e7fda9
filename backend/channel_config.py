"""Which Slack channels Lore indexes: a channel plays the role of a Confluence space for the sync runner.

A channel is configured under the key `slack:<channel id>`, so its sync state, lock and report live next to the
spaces' in the config index (`state:slack:C123`, `lock:slack:C123`) without ever colliding with a space key, and the
runner, the lock and `status()` work on channels unchanged. The channel documents have their own kind (`channel`),
so `GET/PUT /api/admin/spaces` and `connector spaces` never see, or purge, a channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from backend.errors import BadRequest
from backend.es import translated
from backend.settings import Settings
from backend.spaces import SpaceConfig, SpaceStore, _known, now_iso

KEY_PREFIX = "slack:"
SOURCE = "slack"
# Slack conversation ids: C (channels, public or private) or G (older private channels), then upper-case letters
# and digits. Checked here because the id travels into ACL identities and Slack calls.
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def channel_key(channel: str) -> str:
    return f"{KEY_PREFIX}{channel}"


@dataclass
class ChannelConfig(SpaceConfig):
    """One channel to index. `public`: a public channel whose threads every reader may find, members or not."""

    public: bool = False

    @property
    def channel(self) -> str:
        return self.key.removeprefix(KEY_PREFIX)

    @classmethod
    def parse(cls, raw: Any) -> ChannelConfig:
        """From the admin API or the CLI: a channel id ("C0123", or "slack:C0123") or {channel, public?, enabled?,
        name?} ("key" is accepted for "channel")."""
        if isinstance(raw, str):
            raw = {"channel": raw}
        if not isinstance(raw, dict):
            raise BadRequest(f"A channel must be an id or an object with a 'channel', not {type(raw).__name__}.")
        raw = dict(raw)
        if "channel" in raw and "key" in raw:
            raise BadRequest("Give a channel as 'channel' or 'key', not both.")
        channel = raw.pop("channel", raw.pop("key", None))
        unknown = set(raw) - {"enabled", "public", "name", "added"}
        if unknown:
            raise BadRequest(f"Unknown channel field(s) {', '.join(sorted(unknown))}: use channel, public, enabled, "
                             "name.")
        if isinstance(channel, str):
            channel = channel.strip().removeprefix(KEY_PREFIX)
        if not isinstance(channel, str) or not _CHANNEL.match(channel):
            raise BadRequest(f"{channel!r} is not a Slack channel id (like C0123ABCD: in Slack, open the channel's "
                             "details; the id is at the bottom).")
        for flag in ("enabled", "public"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise BadRequest(f"Channel {channel}: '{flag}' must be true or false, not {raw[flag]!r}.")
        if not isinstance(raw.get("name", ""), str):
            raise BadRequest(f"Channel {channel}: 'name' must be a string.")
        return cls(key=channel_key(channel), **raw)

    def to_dict(self) -> dict:
        data = super().to_dict()
        data.pop("unrestricted_only", None)  # a Confluence notion: a channel has no restricted threads
        return {"channel": self.channel, **data}


class ChannelStore(SpaceStore):
    """The configured channels (`channel:slack:<C>` documents), with the spaces' state, lock and status machinery."""

    def list_spaces(self) -> list[ChannelConfig]:
        return [ChannelConfig(**_known(ChannelConfig, d)) for d in self._list("channel")]

    def get_space(self, key: str) -> ChannelConfig | None:
        data = self._get(f"channel:{_as_key(key)}")
        return ChannelConfig(**_known(ChannelConfig, data)) if data else None

    def add_space(self, space: ChannelConfig) -> ChannelConfig:  # type: ignore[override]
        existing = self.get_space(space.key)
        space.added = existing.added if existing and existing.added else (space.added or now_iso())
        self._put(f"channel:{space.key}", {"kind": "channel", **{f.name: getattr(space, f.name)
                                                                 for f in fields(space)}})
        return space

    def remove_space(self, key: str) -> bool:
        """Stop indexing the channel; its sync state goes too (documents and members are the caller's to purge)."""
        key = _as_key(key)
        found = self._delete(f"channel:{key}")
        self._delete(f"state:{key}")
        return found

    # channel-named aliases, for readers of the CLI and the admin API
    list_channels = list_spaces
    get_channel = get_space
    add_channel = add_space
    remove_channel = remove_space

    def _delete(self, doc_id: str) -> bool:
        self.ensure()
        with translated(self.es, f"removing {doc_id}"):
            try:
                self.es.delete(index=self.index, id=doc_id, refresh=True)
            except NotFoundError:
                return False
        return True


def purge_channel(es: Elasticsearch, settings: Settings, key: str) -> int:
    """Delete a channel's documents and forget its members (an admin removed it); returns chunks deleted."""
    from backend.channels import ChannelMembers
    from backend.visibility import purge_space

    key = _as_key(key)
    deleted = purge_space(es, settings, key, SOURCE)
    ChannelMembers(es, settings.slack_source).remove(key.removeprefix(KEY_PREFIX))
    return deleted


def hide_channel(es: Elasticsearch, settings: Settings, key: str) -> list[str]:
    """Hide a channel's documents from every reader (an admin disabled it); returns the ids newly hidden."""
    from backend.visibility import hide_space

    return hide_space(es, settings, _as_key(key), SOURCE)


def _as_key(key_or_channel: str) -> str:
    return key_or_channel if key_or_channel.startswith(KEY_PREFIX) else channel_key(key_or_channel)
