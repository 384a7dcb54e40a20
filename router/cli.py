"""The `lanerouter` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from router.config import Settings
from router.configfile import ConfigSource, load_settings
from router.decide import explain
from router.demo import traffic
from router.demo.stack import start_simulated_engines
from router.errors import ConfigError, RouterError
from router.http.auth import load_keys
from router.process import run_server, setup_logging
from router.reloadcommand import add_reload_parser, run_reload
from router.report.benchcommand import add_bench_parser, run_bench
from router.report.command import add_report_parser, run_report
from router.workers import Workers

DEFAULT_CONFIG = Path("config.toml")
DESCRIPTION = """\
lanerouter: one OpenAI-compatible base URL in front of several engines serving the same model.
Each request goes to a lane by intent (tools -> tools, audit/review -> audit, else chat); the
X-Lane header or a lane name as the model forces one. Streams are relayed untouched."""
SERVE_EPILOG = """\
examples:
  lanerouter serve --demo                 # simulated engines, nothing else needed
  lanerouter serve --config /etc/lanerouter/config.toml --port 8080
  curl -N localhost:8080/v1/chat/completions -H 'X-Lane: audit' \\
       -d '{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}'"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lanerouter", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the proxy",
        description="Serve the OpenAI-compatible API and route each request to a lane.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--config",
        type=Path,
        help="TOML config file (default: ./config.toml if present, else built-in defaults)",
    )
    serve.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port, 8080)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also start three simulated engines (llama.cpp, ik_llama.cpp, vLLM dialects, paced "
        "like real lanes) on free loopback ports and route to them instead of the config's URLs",
    )
    serve.add_argument(
        "--demo-speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="with --demo: run the simulated engines FACTOR times faster (default: 1)",
    )
    serve.add_argument(
        "--workers",
        type=positive,
        default=1,
        metavar="N",
        help="serve from N processes on one port (default: 1); metrics and the request store "
        'cover them all; set [admission] backend = "redis" to share lanes\' slots among them',
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    traffic = commands.add_parser(
        "traffic",
        help="send a steady mix of requests to a running lanerouter (demo load)",
        description="Send chat, tool, audit, forced-lane and continued-conversation streams "
        "(and now and then a client that leaves early) to a running lanerouter.",
    )
    traffic.add_argument("--url", default="http://127.0.0.1:8080", help="lanerouter's base URL")
    traffic.add_argument("--rate", type=float, default=1.0, help="requests started per second")
    traffic.add_argument("--count", type=int, help="stop after this many (default: never)")
    route = commands.add_parser(
        "route",
        help="show which lane a request body would go to, and why (calls no engine)",
        description="Read a request body and print the lane, the route reason and the signals "
        "that decided, with their weights.",
        epilog=explain.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    route.add_argument("body", nargs="?", help="a JSON request body file (default: stdin)")
    route.add_argument("--config", type=Path, help="TOML config file (as for serve)")
    route.add_argument("--lane", metavar="LANE", help="as if sent with X-Lane: LANE")
    route.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_report_parser(commands)
    add_bench_parser(commands)
    add_reload_parser(commands)
    return parser


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def load(path: Path | None) -> Settings:
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_settings(path)


def serve(args: argparse.Namespace) -> int:
    path = DEFAULT_CONFIG if args.config is None and DEFAULT_CONFIG.exists() else args.config
    source = ConfigSource(path, args.host, args.port)
    settings = source.read()
    load_keys(settings.auth, list(settings.lanes))  # a bad key file stops start-up here
    reread: ConfigSource | None = source  # what SIGHUP reads again
    if args.demo:  # the simulated engines' URLs are not in any file to read again
        settings, _engines = start_simulated_engines(settings, speed=args.demo_speed)
        reread = None
    setup_logging(args.log_level)
    for name, lane in settings.lanes.items():
        logging.info("lane %-6s -> %s (%s)", name, lane.base_url, lane.engine)
    if args.workers > 1:
        return Workers(settings, args.workers, args.log_level, reread).run()
    run_server(settings, args.log_level, source=reread)
    return 0


def route(args: argparse.Namespace) -> int:
    try:
        body = explain.read_body(args.body, sys.stdin)
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"lanerouter route: cannot read the request body: {exc}", file=sys.stderr)
        return 2
    try:
        found = explain.explain(load(args.config), body, args.lane)
    except RouterError as exc:  # an unknown --lane
        print(f"lanerouter route: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        explain.print_explained(found)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "traffic":
        sent = asyncio.run(traffic.run(args.url.rstrip("/"), args.rate, args.count))
        print(f"traffic: {sent} requests sent")
        return 0
    try:
        if args.command == "bench":
            return run_bench(args)
        if args.command == "reload":
            return run_reload(args)
        if args.command == "report":
            return run_report(args, load(args.config))
        return route(args) if args.command == "route" else serve(args)
    except ConfigError as exc:
        print(f"lanerouter: {exc}", file=sys.stderr)
        return 2
