"""``python -m bench run [--small]`` and ``python -m bench seed``: see the README, "Benchmarks"."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from bench import db, seed, stats


def _scale(args) -> seed.Scale:
    base = seed.SMALL if args.small else seed.DEFAULT
    return seed.Scale(
        shops=args.shops or base.shops,
        reviews=args.reviews if args.reviews is not None else base.reviews,
        invitations=args.invitations if args.invitations is not None else base.invitations,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "seed"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--small", action="store_true", help="200 shops, 200k reviews, 20k inv.")
        cmd.add_argument("--shops", type=int)
        cmd.add_argument("--reviews", type=int)
        cmd.add_argument("--invitations", type=int)
        cmd.add_argument("--db-name", default=db.PREFIX, help="must start with ekomi_bench")
        cmd.add_argument("--keep-db", action="store_true", help="leave the database behind")
    run = sub.choices["run"]
    run.add_argument("--runs", type=int, help="repetitions of each figure (3 small, 5 default)")
    run.add_argument("--orders", type=int, help="orders per POST (1,000 small, 10,000 default)")
    run.add_argument("--seconds", type=float, help="seconds per HTTP load run (5 / 10)")
    run.add_argument(
        "--only",
        action="append",
        choices=FIGURE_GROUPS,
        help="run only this group of figures (repeatable); default: all",
    )
    run.add_argument(
        "--submissions", type=int, help="rating form POSTs per run (100 small, 1,000 default)"
    )
    return parser


FIGURE_GROUPS = ("recompute", "expiry", "ingest", "origin", "rating", "front", "email")


def _seed(args, scale: seed.Scale) -> dict[str, int]:
    db.database_recreate(name=args.db_name)
    db.django_setup(name=args.db_name)
    started = time.monotonic()
    counts = seed.seed(dbname=args.db_name, scale=scale)
    print(f"seeded {counts} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return counts


def _database_figures(args, plan, wanted: set[str]) -> list:
    from bench import expiry, figures

    results = []
    if "recompute" in wanted:
        results.append(figures.recompute_figure(plan))
    elif wanted & {"origin", "rating", "front"}:
        # The public surfaces show the seal statuses, which only a recompute writes: untimed.
        from seals.services import seals_recompute_all

        seals_recompute_all()
    if "expiry" in wanted:  # before anything adds invitations: half of the seeded links are due
        results.append(expiry.expiry_figure(dbname=args.db_name, runs=plan.runs))
    return results


def _measure(args, plan, scale: seed.Scale, submissions: int) -> list:
    """Every figure of the groups asked for (all by default), in a fixed order."""
    from bench import figures, front, rating, server

    wanted = set(args.only or FIGURE_GROUPS)
    results = _database_figures(args, plan, wanted)
    if wanted & {"ingest", "origin"}:
        # A connection per request: wrk's kept-alive connections would stay on one worker.
        with server.gunicorn(dbname=args.db_name, keepalive=False) as base:
            if "ingest" in wanted:
                results.append(figures.ingest_figure(plan, base=base, per=scale.products_per_shop))
            if "origin" in wanted:
                results += figures.public_figures(plan, base=base)
    # Production-like from here: the Redis cache is on (a fresh key prefix), nginx in front.
    if wanted & {"rating", "front"}:
        with server.gunicorn(dbname=args.db_name, cache="redis") as base:
            if "rating" in wanted:
                results.append(
                    rating.rating_figure(dbname=args.db_name, base=base, shops=scale.shops,
                                         runs=plan.runs, n=submissions,
                                         connections=plan.connections)
                )  # fmt: skip
            if "front" in wanted:
                results += front.front_figures(
                    origin=base, shops=scale.shops, runs=plan.runs, seconds=plan.http_seconds,
                    connections=plan.connections,
                )  # fmt: skip
    if "email" in wanted:
        from bench import email_figures  # invitation emails via Celery, worker and CSV import RSS

        results += email_figures.email_and_memory_figures(plan, small=args.small)
    return results


def _run(args, scale: seed.Scale) -> None:
    from bench import figures

    counts = _seed(args, scale)
    plan = figures.Plan(
        dbname=args.db_name,
        shops=scale.shops,
        runs=args.runs or (3 if args.small else 5),
        orders_per_request=args.orders or (1_000 if args.small else 10_000),
        http_seconds=args.seconds or (5 if args.small else 10),
    )
    submissions = args.submissions or (100 if args.small else 1_000)
    results = _measure(args, plan, scale, submissions)
    meta = {
        "scale": {**scale.__dict__, "seeded_rows": counts},
        "runs": plan.runs,
        "orders_per_request": plan.orders_per_request,
        "http_seconds": plan.http_seconds,
        "submissions_per_run": submissions,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(stats.table(results))
    print(f"\nwritten to {stats.write_json(results, meta=meta)}")
    check_measured(results)


def check_measured(results: list) -> None:
    """Targets are printed, never asserted; a figure that could not be measured is an error
    (exit status 1 after the table)."""
    failed = [figure.name for figure in results if figure.as_dict().get("failed")]
    if failed:
        raise SystemExit(f"{len(failed)} figure(s) could not be measured: " + "; ".join(failed))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    scale = _scale(args)
    try:
        if args.command == "seed":
            print(json.dumps(_seed(args, scale)))
        else:
            _run(args, scale)
    finally:
        # ``seed`` exists to leave a database to look at; ``run`` cleans up unless told not to.
        if args.command == "run" and not args.keep_db:
            db.database_drop(name=args.db_name)


if __name__ == "__main__":
    main()
