"""Run the Confluence stand-in as a process for the demo and manual checks:

    python -m tests.standins.confluence_cli --port 8090 --data ../shared/data

It prints the LORE_CONFLUENCE_* lines that point Lore at it, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path

from tests.standins.confluence_app import ConfluenceState, seed_from_wiki, start


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[2]
    default_data = os.environ.get("LORE_SHARED_DATA") or str(repo.parent / "shared" / "data")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--data", default=default_data, help="shared data folder (wiki/, audio/)")
    parser.add_argument("--base-path", default="/wiki", help="/wiki for Cloud, '' or a context path for DC")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    state = ConfluenceState(base_path=args.base_path)
    seed = seed_from_wiki(state, Path(args.data) / "wiki" / "hyperledger-toc.jsonl")
    server = start(state, args.host, args.port)
    settings = server.settings()
    print(f"Confluence stand-in with {len(seed.page_ids)} pages at {server.url}")
    print(f"LORE_CONFLUENCE_URL={settings.url}")
    print(f"LORE_CONFLUENCE_CLOUD={settings.cloud}")
    if settings.pat:
        print(f"LORE_CONFLUENCE_PAT={settings.pat}")
    else:
        print(f"LORE_CONFLUENCE_EMAIL={settings.email}")
        print(f"LORE_CONFLUENCE_API_TOKEN={settings.api_token}")
    print("Other users (email / API token): " + ", ".join(
        f"{state.users[a].email} / {seed.tokens[n]}" for n, a in seed.users.items()))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
