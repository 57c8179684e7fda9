"""`python -m connector`: sync Confluence spaces into the index, show where each sync stands, choose the spaces.

    python -m connector sync --space KEY [--full]      python -m connector spaces add KEY [--unrestricted-only]
    python -m connector sync --all [--full]             python -m connector spaces list | remove KEY [--purge]
    python -m connector status [--json]
    python -m connector channels add C0123 [--public] | list [--live] | remove C0123   (Slack channels: see
    python -m connector sync --channel C0123 [--full]                                connector/slack/cli.py)

Exit codes: 0 every space synced cleanly, 1 something failed (the message says what to do), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping

from backend.errors import LoreError
from backend.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_NOISY = ("elastic_transport", "urllib3", "sentence_transformers", "transformers", "httpx")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m connector", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="index changed content of one, several or all configured spaces")
    which = sync.add_mutually_exclusive_group(required=True)
    which.add_argument("--space", action="append", metavar="KEY", help="a configured space key (repeatable)")
    which.add_argument("--all", action="store_true", help="every enabled configured space and Slack channel")
    which.add_argument("--channel", action="append", metavar="ID", help="a configured Slack channel (repeatable)")
    sync.add_argument("--full", action="store_true",
                      help="list everything (comments and attachments of every page) and prune deleted content")
    sync.add_argument("--allow-mass-delete", action="store_true",
                      help="let this run prune even when most of a space seems to have disappeared")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    status = sub.add_parser("status", help="per space: cursor, last sync and its report")
    status.add_argument("--json", action="store_true")
    spaces = sub.add_parser("spaces", help="choose which spaces are indexed")
    ssub = spaces.add_subparsers(dest="action", required=True)
    add = ssub.add_parser("add", help="index this space from the next sync on")
    add.add_argument("key")
    add.add_argument("--unrestricted-only", action="store_true",
                     help="skip pages with a read restriction on them or on any ancestor")
    add.add_argument("--name", default="", help="a label for people")
    add.add_argument("--disabled", action="store_true", help="configure it but leave it out of `sync --all`")
    ssub.add_parser("list", help="the configured spaces")
    remove = ssub.add_parser("remove", help="stop indexing this space")
    remove.add_argument("key")
    # removing always purges: a space nobody syncs any more must not stay searchable with stale permissions
    remove.add_argument("--purge", action="store_true", help="(the default; kept for existing scripts)")
    from connector.slack.cli import add_parser as add_channels_parser

    add_channels_parser(sub)
    return ap


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        settings = Settings.from_env(env, dotenv=".env" if env is None else None)
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
        for name in _NOISY:
            logging.getLogger(name).setLevel(logging.ERROR)  # their retries log tracebacks at WARNING
        if args.command == "sync":
            return _sync(args, settings)
        if args.command == "status":
            return _status(args, settings)
        if args.command == "channels":
            from connector.slack.cli import channels_command

            return channels_command(args, settings)
        return _spaces(args, settings)
    except LoreError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the next sync resumes from the last checkpoint", file=sys.stderr)
        return EXIT_FAILED


def _store(settings: Settings):
    from backend.es import connect
    from backend.spaces import SpaceStore

    es = connect(settings.es)
    return es, SpaceStore(es, settings.es)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from connector.slack.cli import channels_to_sync

    if args.channel:
        return _sync_channels(args, settings, channels_to_sync(settings, args.channel))
    es, store = _store(settings)
    if args.all:
        spaces = [s for s in store.list_spaces() if s.enabled]
        channels = channels_to_sync(settings, None)
        if not spaces and not channels[0]:
            print("No enabled spaces or channels are configured: add one with `python -m connector spaces add KEY` "
                  "or `python -m connector channels add C0123`.", file=sys.stderr)
            return EXIT_FAILED
        if channels[0]:  # the channels after the spaces (a space's failure does not stop them)
            rc = _sync_spaces(args, settings, es, store, spaces) if spaces else EXIT_OK
            return max(rc, _sync_channels(args, settings, channels))
    else:
        spaces = []
        for key in dict.fromkeys(args.space):
            space = store.get_space(key)
            if space is None:
                print(f"error: space {key} is not configured; add it with `python -m connector spaces add {key}`.",
                      file=sys.stderr)
                return EXIT_FAILED
            if not space.enabled:  # a disabled space is hidden from readers; a sync would show it again
                print(f"error: space {key} is disabled; enable it first (`python -m connector spaces add {key}`).",
                      file=sys.stderr)
                return EXIT_FAILED
            spaces.append(space)
    return _sync_spaces(args, settings, es, store, spaces)


def _sync_channels(args: argparse.Namespace, settings: Settings, found: tuple[list, str | None]) -> int:
    from connector.slack.cli import sync_channels

    channels, problem = found
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    report = sync_channels(channels, settings, args.full, args.allow_mass_delete, args.json)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return EXIT_OK if all(s.status == "ok" for s in report.spaces) else EXIT_FAILED


def _sync_spaces(args: argparse.Namespace, settings: Settings, es, store, spaces: list) -> int:
    from backend.confluence import ConfluenceClient
    from backend.embeddings import Embedder
    from connector.confluence.source import ConfluenceSource
    from connector.progress import ProgressBars
    from connector.recordings import MinutesHandoff
    from connector.runner import SyncOptions, SyncRunner

    client = ConfluenceClient(settings.confluence)
    client.current_user()  # fail in a second on a wrong URL or an expired token, before loading the model
    embedder = Embedder(settings.embed, settings.cache_dir)
    source = ConfluenceSource(client, settings.confluence, on_recording=MinutesHandoff(settings))
    options = SyncOptions.from_settings(settings, allow_mass_delete=args.allow_mass_delete)
    try:
        with ProgressBars(enabled=not args.json) as bars:
            runner = SyncRunner(settings, es, embedder, source, store, progress=bars.update, options=options)
            report = runner.sync(spaces, full=args.full)
    finally:
        source.close()  # removes the run's private attachment directory
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return EXIT_OK if all(s.status == "ok" for s in report.spaces) else EXIT_FAILED


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from backend.visibility import hidden_count
    from connector.slack.cli import status_rows

    es, store = _store(settings)
    rows = store.status()
    for row in rows:
        row["hidden_documents"] = hidden_count(es, settings, row["key"])
    channel_rows = status_rows(settings)  # keyed slack:<C>; shown like spaces
    if args.json:
        print(json.dumps(rows + channel_rows, indent=2))
        return EXIT_OK
    if not rows and not channel_rows:
        print("No spaces or channels are configured: add one with `python -m connector spaces add KEY` or "
              "`python -m connector channels add C0123`.")
    rows += channel_rows
    for row in rows:
        state, report = row["state"], row["state"].get("last_report") or {}
        lock = row.get("lock") or {}
        flags = [f for f, on in (("disabled", not row["enabled"]), ("unrestricted only", row.get("unrestricted_only")),
                                 ("public: every reader", row.get("public")),
                                 (f"RUNNING since {lock.get('since')} by {lock.get('owner')}", state["running"]),
                                 ("INTERRUPTED: the next sync resumes it", state["interrupted"])) if on]
        print(f"{row['key']}{' (' + ', '.join(flags) + ')' if flags else ''}")
        print(f"  cursor: {state['last_modified'] or 'none (next sync is a full one)'}"
              f"{' (' + state['timezone'] + ')' if state['timezone'] else ''}; last full pass: "
              f"{state['last_full'] or 'never'}")
        if report:
            print(f"  last sync: {report.get('status')} ({report.get('mode')}) finished {state['finished']}, "
                  f"{report.get('pages')} pages in {report.get('duration_s')}s; added {report.get('added')}, "
                  f"updated {report.get('updated')}, deleted {report.get('deleted')}, skipped "
                  f"{report.get('skipped_count')}, errors {report.get('errors_count')}")
        if row["hidden_documents"]:
            reasons = sorted({h["reason"] for h in report.get("hidden") or []})
            print(f"  hidden from every reader: {row['hidden_documents']} documents"
                  f"{' (last sync: ' + '; '.join(reasons) + ')' if reasons else ''}; they come back when a sync "
                  "finds them readable again, or are deleted once the prune may")
        if state["last_error"]:
            print(f"  last error: {state['last_error']}")
    _print_minutes_jobs(settings)
    return EXIT_OK


def _print_minutes_jobs(settings: Settings) -> None:
    """The recordings handed to the minutes worker (by name: backend.minutes reads rq, the connector never runs it)."""
    from backend.errors import LoreError
    from backend.minutes.status import list_jobs, render

    try:
        print(render(list_jobs(settings)))
    except LoreError as exc:
        print(f"minutes jobs: unknown ({exc.message})")


def _spaces(args: argparse.Namespace, settings: Settings) -> int:
    from backend.spaces import SpaceConfig

    es, store = _store(settings)
    if args.action == "list":
        spaces = store.list_spaces()
        if not spaces:
            print("No spaces are configured: add one with `python -m connector spaces add KEY`.")
        for s in spaces:
            flags = ", ".join(f for f, on in (("enabled", s.enabled), ("disabled", not s.enabled),
                                              ("unrestricted only", s.unrestricted_only)) if on)
            print(f"{s.key}\t{flags}\t{s.name}")
        return EXIT_OK
    if args.action == "add":
        space = SpaceConfig.parse({"key": args.key, "unrestricted_only": args.unrestricted_only,
                                   "name": args.name, "enabled": not args.disabled})
        if settings.confluence.url:  # catch a typo now rather than at the first sync
            from backend.confluence import ConfluenceClient

            ConfluenceClient(settings.confluence).space(space.key)
        if not space.enabled:  # disabling takes the space out of every reader's sight now, not at a sync
            from backend.visibility import hide_space

            hide_space(es, settings, space.key)
        store.add_space(space)
        print(f"Space {space.key} will be indexed{' (unrestricted content only)' if space.unrestricted_only else ''}"
              f". Run `python -m connector sync --space {space.key}` to index it now.")
        return EXIT_OK
    from backend.visibility import purge_space

    # out of sight first, then out of the configuration (as the admin API does)
    deleted = purge_space(es, settings, args.key)
    if not store.remove_space(args.key) and not deleted:
        print(f"error: space {args.key} is not configured (see `python -m connector spaces list`).", file=sys.stderr)
        return EXIT_FAILED
    print(f"Space {args.key} removed and its documents deleted from the index ({deleted} chunks).")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
