"""`lanerouter reload`: ask a running lanerouter on this machine to read its config again.

It asks the status API which process to signal (with --workers, their supervisor), sends it
SIGHUP, and waits for the status API to say how the reload went: the new config in use, or
the message that rejected it (the running config then stays)."""

from __future__ import annotations

import argparse
import os
import signal
import time
from typing import Any

import httpx

WAIT_SECONDS = 15.0


def add_reload_parser(commands: Any) -> None:
    reload = commands.add_parser(
        "reload",
        help="make a running lanerouter read its config again (as SIGHUP does)",
        description="Send SIGHUP to the lanerouter at --url (on this machine) and report "
        "whether it took the new config. Streams in flight finish on the config before. "
        "With client keys and protect_metrics on, set LANEROUTER_API_KEY to a key.",
    )
    reload.add_argument("--url", default="http://127.0.0.1:8080", help="lanerouter's base URL")


def run_reload(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/api/status"
    key = os.environ.get("LANEROUTER_API_KEY", "")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        before = httpx.get(url, headers=headers, timeout=5).json()
        os.kill(int(before["reload_pid"]), signal.SIGHUP)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            config = httpx.get(url, headers=headers, timeout=5).json()["config"]
            if config["attempts"] > before["config"]["attempts"]:
                return said(config)
            time.sleep(0.2)
    except (httpx.HTTPError, KeyError, ValueError, OSError) as exc:
        print(f"lanerouter reload: {args.url}: {exc}")
        return 1
    print(f"lanerouter reload: sent SIGHUP; no answer within {WAIT_SECONDS:g} s (see its log)")
    return 1


def said(config: dict[str, Any]) -> int:
    if config["outcome"] == "rejected":
        print(f"lanerouter reload: rejected, the config before stays: {config['message']}")
        return 1
    note = f" ({config['message']})" if config["message"] else ""
    print(f"lanerouter reload: config generation {config['generation']} in use{note}")
    return 0
