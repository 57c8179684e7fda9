"""Run the Slack Web API stand-in as a process for the demo and manual checks:

    python -m tests.standins.slack_cli --port 8091

It prints the LORE_SLACK_* lines that point the bot at it, then serves until interrupted. Its users are the
Confluence stand-in's people (alice -> U0ALICE, ...); what the bot posts to a response_url
`<url>/hooks/<key>` can be read back at `<url>/standin/responses/<key>`.
"""

from __future__ import annotations

import argparse
import logging
import threading

from tests.standins.slack_app import SlackState, start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--channels", metavar="JSONL",
                        help="also serve channels loaded from ../shared/data/chat/ubuntu-irc-dev-threads.jsonl "
                             "(for `python -m connector channels`: C0HELP, C0DEV, private C0CORE with alice)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    state = SlackState()
    if args.channels:
        from pathlib import Path

        from tests.standins.slack_channels import seed_channels

        seed = seed_channels(state, Path(args.channels))
        print(f"channels: {', '.join(f'{c} ({len(t)} threads)' for c, t in seed.threads.items())}", flush=True)
    server = start(state, args.host, args.port)
    people = sorted(u["name"] for u in state.users.values() if not u.get("is_bot"))
    print(f"Slack stand-in with {len(people)} users ({', '.join(people)}) at {server.url}", flush=True)
    print(f"LORE_SLACK_API_URL={server.api_url}")
    print(f"LORE_SLACK_BOT_TOKEN={state.bot_token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
