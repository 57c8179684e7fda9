"""Play Slack for one `/ask`: sign a slash command as Slack does, post it to the bot, print the acknowledgement,
then wait for the answer at the Slack stand-in's response_url and print it as Slack would show it.

    python -m tests.standins.slack_ask --bot http://127.0.0.1:3000/slack/events \\
        --slack http://127.0.0.1:8091 --secret SECRET --user alice "What is ...?"

Exit status: 0 answered, 1 the bot refused the request or no answer came within --timeout.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
import uuid

import requests

from tests.standins.slack_app import slack_id
from tests.standins.slack_delivery import command_body, signed_headers


def signed_command(secret: str, question: str, user: str, response_url: str,
                   timestamp: float | None = None) -> tuple[str, dict[str, str]]:
    """The form body of `/ask <question>` by stand-in user `user` and its headers, signed with `secret`
    (X-Slack-Signature: v0=HMAC-SHA256 of `v0:<timestamp>:<body>`)."""
    body = command_body(question, slack_id(user), response_url)
    return body, signed_headers(secret, body, timestamp)


_LINK = re.compile(r"<([^|<>]+)\|([^<>]*)>")
_CITATION = re.compile(r"\[\d+\]")


def plain(mrkdwn: str) -> str:
    """mrkdwn as a terminal shows it: `<url|label>` -> `label (url)`, an inline citation `<url|[1]>` -> `[1]`
    (the sources below carry its link), entities unescaped."""
    return html.unescape(_LINK.sub(lambda m: m[2] if _CITATION.fullmatch(m[2]) else f"{m[2]} ({m[1]})", mrkdwn))


def shown(message: dict) -> str:
    """A response_url message as plain lines: section and context texts in order, buttons by their labels."""
    lines = []
    for block in message.get("blocks") or []:
        if block.get("type") == "section":
            lines.append(plain(block["text"]["text"]))
        elif block.get("type") == "context":
            lines.extend(plain(e.get("text", "")) for e in block.get("elements", []))
        elif block.get("type") == "actions":
            lines.append("  ".join(f"[{e['text']['text']}]" for e in block.get("elements", [])
                                   if e.get("type") == "button"))
    return "\n".join(lines) or plain(message.get("text", ""))


def wait_for_answer(slack_url: str, key: str, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posted = requests.get(f"{slack_url}/standin/responses/{key}", timeout=5).json()
        if posted:
            return posted[-1]
        time.sleep(1)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question")
    parser.add_argument("--bot", required=True, help="the bot's request URL (…/slack/events)")
    parser.add_argument("--slack", required=True, help="the Slack stand-in's base URL")
    parser.add_argument("--secret", required=True, help="the bot's LORE_SLACK_SIGNING_SECRET")
    parser.add_argument("--user", default="alice", help="a stand-in user (alice, bob, ...)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)

    key = f"demo-{uuid.uuid4().hex[:12]}"
    body, headers = signed_command(args.secret, args.question, args.user, f"{args.slack}/hooks/{key}")
    print(f"/ask {args.question}   (as {args.user}, Slack user {slack_id(args.user)})")
    started = time.monotonic()
    resp = requests.post(args.bot, data=body.encode(), headers=headers, timeout=10)
    if resp.status_code != 200:
        print(f"the bot refused the request: HTTP {resp.status_code} {resp.text[:200]}", file=sys.stderr)
        return 1
    ack = resp.json() if resp.content else {}
    print(f"--- acknowledged in {resp.elapsed.total_seconds():.2f} s (only {args.user} sees it):")
    print(shown(ack) if ack else "(empty acknowledgement)")
    answer = wait_for_answer(args.slack, key, args.timeout)
    if answer is None:
        print(f"no answer reached the response_url within {args.timeout:.0f} s", file=sys.stderr)
        return 1
    print(f"--- answer posted to the response_url after {time.monotonic() - started:.0f} s "
          f"({answer.get('response_type', '?')}):")
    print(shown(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
