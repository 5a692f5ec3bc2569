"""`pmhub` on the command line: log metrics, promote versions, list models.

    pmhub log --model m --version v [--step N] accuracy=0.93 loss=0.2
    pmhub promote --model m --version v [--note TEXT] [--expect LABEL|none]
    pmhub models
    pmhub create-model --name m [--task T] [--primary-metric K] [--lower-is-better]
    pmhub create-version --model m --version v [--param k=v ...] [--notes TEXT]

--url, --token and --product default to PMHUB_URL, PMHUB_TOKEN and PMHUB_PRODUCT.
"""
from __future__ import annotations

import argparse
import json
import sys

from .client import PMHub, PMHubError


def _pairs(items: list[str], *, numbers: bool) -> dict:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"pmhub: expected key=value, got {item!r}")
        if numbers:
            try:
                out[key] = float(raw)
            except ValueError:
                raise SystemExit(f"pmhub: {key}: {raw!r} is not a number") from None
        else:
            try:
                out[key] = json.loads(raw)
            except ValueError:
                out[key] = raw
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pmhub", description="Log model metrics to pmhub and promote versions.")
    parser.add_argument("--url", help="pmhub base URL (default: $PMHUB_URL)")
    parser.add_argument("--token", help="API token (default: $PMHUB_TOKEN)")
    parser.add_argument("--product", help="product slug (default: $PMHUB_PRODUCT)")
    sub = parser.add_subparsers(dest="command", required=True)

    log = sub.add_parser("log", help="log metrics for a model version")
    log.add_argument("--model", required=True)
    log.add_argument("--version", required=True)
    log.add_argument("--step", type=int, default=None)
    log.add_argument("metrics", nargs="+", metavar="key=value")

    promote = sub.add_parser("promote", help="make a version the production version")
    promote.add_argument("--model", required=True)
    promote.add_argument("--version", required=True)
    promote.add_argument("--note", default="")
    promote.add_argument("--expect", help="refuse unless this version label is in production now ('none': none)")

    sub.add_parser("models", help="list models with their production version")

    create_model = sub.add_parser("create-model", help="register a model")
    create_model.add_argument("--name", required=True)
    create_model.add_argument("--task", default="other")
    create_model.add_argument("--description", default="")
    create_model.add_argument("--primary-metric", default="")
    create_model.add_argument("--lower-is-better", action="store_true")

    create_version = sub.add_parser("create-version", help="register a version of a model")
    create_version.add_argument("--model", required=True)
    create_version.add_argument("--version", required=True)
    create_version.add_argument("--param", action="append", default=[], metavar="key=value")
    create_version.add_argument("--notes", default="")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        hub = PMHub(args.url, args.token, product=args.product)
        if args.command == "log":
            metrics = _pairs(args.metrics, numbers=True)
            hub.log_metrics(args.model, args.version, metrics, step=args.step)
            stored = hub.flush()
            print(f"logged {stored} metric(s) for {args.model} {args.version}")
        elif args.command == "promote":
            kwargs = {}
            if args.expect is not None:
                kwargs["expected_production"] = None if args.expect.lower() == "none" else args.expect
            version = hub.promote(args.model, args.version, note=args.note, **kwargs)
            print(f"{version['model_name']} {version['version']} is now in production")
        elif args.command == "models":
            for m in hub.models():
                print(f"{m['product']}\t{m['name']}\t{m['task']}\tproduction: {m['production_version'] or '-'}")
        elif args.command == "create-model":
            m = hub.create_model(args.name, task=args.task, description=args.description,
                                 primary_metric=args.primary_metric, higher_is_better=not args.lower_is_better)
            print(f"created model {m['name']} (id {m['id']}) in {m['product']}")
        elif args.command == "create-version":
            v = hub.create_version(args.model, args.version, params=_pairs(args.param, numbers=False),
                                   notes=args.notes)
            print(f"created {v['model_name']} {v['version']} (id {v['id']})")
        hub.session.close()
    except PMHubError as exc:
        print(f"pmhub: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"pmhub: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
