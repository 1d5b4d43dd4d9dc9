"""`ims-bot reconcile`: the purchase register against a workspace's IMS records.

Kept apart from cli.py (which only registers it): the command reads the file, prints the
groups (or the JSON contract), and with `--apply GROUP` previews, then applies with `--yes`.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from ims_bot.reconcile import DEFAULT_DAYS, GROUPS, Group

if TYPE_CHECKING:
    from ims_bot.cli import Env, ExitCode


def _tolerance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount in rupees: {text[:20]!r}") from None
    if not value.is_finite() or not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError("the tolerance is from 0 to 10000 rupees")
    return value


def _days(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 60:
        raise argparse.ArgumentTypeError(f"days are 0-60, got {text[:20]!r}")
    return int(text)


def _pair(text: str) -> tuple[str, str]:
    field, sep, header = text.partition("=")
    if not sep or not field.strip() or not header.strip():
        raise argparse.ArgumentTypeError(f"--map takes FIELD=HEADER, got {text[:60]!r}")
    return field.strip().lower(), header.strip()


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("reconcile", help="match the purchase register (CSV/.xlsx) with IMS")
    p.add_argument("--gstin", required=True)
    p.add_argument("file", help="the purchase register, .csv or .xlsx")
    p.add_argument("--tolerance", type=_tolerance, default=Decimal(1),
                   help="rupees of difference allowed per tax head (default 1)")
    p.add_argument("--days", type=_days, default=DEFAULT_DAYS,
                   help=f"days apart allowed for a near match (default {DEFAULT_DAYS})")
    p.add_argument("--map", action="append", type=_pair, default=[], metavar="FIELD=HEADER",
                   help="which column is which field, e.g. --map invoice_no='Bill Ref'")
    p.add_argument("--apply", choices=[g.value for g in GROUPS if g is not Group.NOT_IN_IMS],
                   help="apply a group's suggestion (preview without --yes)")
    p.add_argument("--yes", action="store_true", help="with --apply: apply it")
    p.add_argument("--json", action="store_true")


def cmd_reconcile(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.cli import ExitCode, _database, _money, _today
    from ims_bot.reconciliation import ReconcileService, check_mapping
    from ims_bot.register import MappingNeeded, RegisterError
    from ims_bot.workspaces import get_workspace

    mapping = check_mapping(dict(args.map))
    data = Path(args.file).read_bytes()
    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = ReconcileService(db, _today(env))
    try:
        done = service.run(workspace.id, data, Path(args.file).name, mapping=mapping,
                           tolerance=args.tolerance, days=args.days)
    except MappingNeeded as exc:
        print(f"ims-bot: {exc}. The file's columns: {', '.join(exc.headers)[:2000]}",
              file=env.stderr)
        return ExitCode.FAILED
    except RegisterError as exc:
        print(f"ims-bot: cannot read {args.file}: {exc}", file=env.stderr)
        return ExitCode.FAILED
    result = done.result
    if args.apply:
        group = Group(args.apply)
        ids = [i.record.key for i in result.by_group(group) if i.record and i.record.open]
        if not args.yes:
            preview = service.preview(workspace.id, group, ids)
            if args.json:
                env.json({"group": group.value, "action": preview.action.value,
                          "eligible": preview.eligible, "itc": preview.tax.as_dict(),
                          "unchanged": preview.unchanged, "refused": preview.refused})
                return ExitCode.OK
            env.out(f"Would {preview.action.value} {preview.eligible} record(s) of "
                    f"{group.value}, ITC {_money(preview.tax.total)}; {preview.unchanged} "
                    f"already {preview.action.status.value}.")
            for reason, count in preview.refused.items():
                env.out(f"  {count} not allowed: {reason}")
            env.out("Run again with --yes to apply.")
            return ExitCode.OK
        outcome = service.apply(workspace.id, group, ids, actor="cli", channel="cli")
        if args.json:
            env.json({"group": group.value, "action": outcome.action.value,
                      "changed": outcome.changed, "batch": outcome.batch,
                      "itc": outcome.tax.as_dict(), "unchanged": outcome.unchanged,
                      "refused": outcome.refused})
            return ExitCode.OK
        env.out(f"{group.value}: {outcome.action.value} applied to {outcome.changed} "
                f"record(s), ITC {_money(outcome.tax.total)}.")
        for reason, count in outcome.refused.items():
            env.out(f"  {count} left alone: {reason}")
        return ExitCode.OK
    if args.json:
        env.json(result.to_json())
        return ExitCode.OK
    env.out(f"Reconciled {len(done.register.rows)} register row(s) with the IMS records of "
            f"{workspace.gstin}:")
    for group, totals in result.summary().items():
        tax = sum((totals[h] for h in ("igst", "cgst", "sgst", "cess")), Decimal(0))
        env.out(f"  {group:<16}{totals['count']:>8}  ITC {_money(tax):>16}")  # type: ignore[arg-type]
    for item in result.items:
        if item.group is not Group.MATCHED:
            where = (f"record {item.record.key}" if item.record else
                     f"row {item.row.key}" if item.row else "")
            env.out(f"{item.group.value:<16} {where:<14} {item.suggested_action:<9} "
                    f"{item.reason}")
    for message in done.follow_ups.values():
        env.out("")
        env.out(message)
    return ExitCode.OK
