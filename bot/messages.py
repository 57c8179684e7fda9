"""Every piece of text a Slack user reads from Lore, in one place: what happened and what to do next.

Plain strings in Slack mrkdwn. Anything built from user or page text is escaped by the caller (bot.blocks).
"""

from __future__ import annotations

COMMAND = "/ask"


def searching(ahead: int) -> str:
    if ahead <= 0:
        return ":mag: Searching…"
    return f":mag: Searching… ({ahead} question{'s' if ahead != 1 else ''} ahead of yours)"


def usage() -> str:
    return (f"Ask Lore a question about your team's pages, for example:\n"
            f"`{COMMAND} How do we cut a release?`\n"
            "Only you see the answer, built from the pages you can open in Confluence.")


def busy(waiting: int) -> str:
    return (f":hourglass: Lore is busy answering other questions ({waiting} waiting), so yours was not taken. "
            "Try again in a minute.")


def you_asked(question: str) -> str:
    """`question` must already be escaped for mrkdwn."""
    return f"You asked: _{question}_"


def failed(code: str) -> str:
    return (f":warning: Lore could not answer this time ({code}). Try again in a few minutes; if it keeps "
            "happening, tell whoever runs Lore in your workspace.")


def too_long() -> str:
    return "The answer was too long for Slack and was cut here: open the sources for the rest."


def sources_heading() -> str:
    return "The most relevant pages:"


def rule_private(email: str) -> str:
    """`email` must already be escaped for mrkdwn."""
    return f":lock: Only you can see this. Searched the pages {email} can open in Confluence."


def rule_public(reason: str) -> str:
    return f":lock: Only you can see this. Searched public pages only: {reason}"


def rule_channel(reason: str) -> str:
    """Public pages only in a channel reply; `reason` says why the members' own pages were not used."""
    return (f":busts_in_silhouette: Everyone in this channel can see this reply, so only public pages were "
            f"searched: {reason} For answers from your own pages, use `{COMMAND}` (only you see those).")


def rule_members(count: int) -> str:
    return (f":busts_in_silhouette: Everyone in this channel can see this reply, so it uses only pages that all "
            f"{count} member{'s' if count != 1 else ''} can open. For answers from your own pages, use "
            f"`{COMMAND}` (only you see those).")


def mention_usage() -> str:
    return (f"Mention me with a question, for example: _@Lore How do we cut a release?_ I answer in the thread "
            f"from pages everyone in the channel can open; `{COMMAND}` answers only you, from the pages you can open.")


def dm_usage() -> str:
    return ("Send me a question, for example: _How do we cut a release?_ I answer from the pages you can open "
            "in Confluence; only you see this conversation.")


NO_EMAIL = "your Slack profile shows no email Lore could read."
NOT_IN_CONFLUENCE = "your Slack email matches no Confluence account that Lore can see."
CHANNEL_TOO_BIG = "the channel has more members than Lore checks one by one."
CHANNEL_UNKNOWN_MEMBER = "not every member could be matched to a Confluence account."
CHANNEL_UNREADABLE = "Slack did not say who is in this channel just now."
SLACK_UNREACHABLE = "Slack did not tell Lore who you are just now (try again to include your own pages)."

HELPFUL = "Helpful"
NOT_HELPFUL = "Not helpful"
FEEDBACK_THANKS = "Thanks, your feedback was recorded."
COMMENT_TITLE = "What was wrong?"  # Slack caps a modal title at 24 characters
COMMENT_LABEL = "Tell whoever runs Lore what was wrong or missing (optional)"
COMMENT_SUBMIT = "Send"
COMMENT_SKIP = "Skip"
