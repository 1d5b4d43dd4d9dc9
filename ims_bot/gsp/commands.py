"""`ims-bot gsp login|logout`, `sync`, `upload`, `regenerate`: the CLI side of portal sync.

Registered in ims_bot.cli (parsers and the COMMANDS table); every failure is one line and a
non-zero exit: GspError here, the rest in ims_bot.cli._run.
"""

from __future__ import annotations

import argparse
import re
from typing import Any


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("gsp", help="connect a GSTIN to the GST portal through the GSP provider")
    gsp = p.add_subparsers(dest="gsp_command", required=True, metavar="ACTION")
    q = gsp.add_parser("login", help="open a portal session with the OTP the portal sends")
    q.add_argument("--gstin", required=True)
    q.add_argument("--username", required=True, help="the taxpayer's GST portal username")
    q.add_argument("--otp", help="the OTP (without it: read from the first line of stdin)")
    q = gsp.add_parser("logout", help="log out of the portal and forget the session")
    q.add_argument("--gstin", required=True)

    p = sub.add_parser("sync", help="fetch every IMS section from the portal and merge it")
    p.add_argument("--gstin", required=True)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("upload", help="save your decisions on the portal (preview first)")
    p.add_argument("--gstin", required=True)
    p.add_argument("--yes", action="store_true", help="send (without it: preview only)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("regenerate", help="ask the portal to regenerate GSTR-2B of a period")
    p.add_argument("--gstin", required=True)
    p.add_argument("--period", required=True, help="MMYYYY")
    p.add_argument("--json", action="store_true")


def run(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode, _failure
    from ims_bot.gsp.errors import GspError, ProviderDown, RateLimited

    try:
        return _COMMANDS[args.command if args.command != "gsp" else args.gsp_command](env, args)
    except (ProviderDown, RateLimited) as exc:
        return _failure(env, str(exc), ExitCode.UNAVAILABLE)
    except GspError as exc:
        return _failure(env, str(exc), ExitCode.FAILED)


def _service(env: Any) -> Any:
    from ims_bot.cli import _database, _settings
    from ims_bot.gsp.service import GspService
    from ims_bot.logs import register_secret

    settings = _settings(env)
    register_secret(settings.gsp_api_key, settings.gsp_api_secret, settings.secret_key)
    return GspService(_database(env), settings)


def _login(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode, Usage
    from ims_bot.workspaces import ensure_workspace, parse_gstin

    gstin = parse_gstin(args.gstin)
    username = args.username.strip()
    if not username or len(username) > 100:
        raise Usage("--username must be the GST portal username (1 to 100 characters)")
    service = _service(env)
    workspace = ensure_workspace(service.db, gstin)
    service.request_otp(gstin, username)
    otp = args.otp
    if otp is None:
        print(f"The GST portal sent an OTP to the mobile registered for {gstin}: type it.",
              file=env.stderr)
        otp = env.stdin.readline()
    otp = (otp or "").strip()
    if not re.fullmatch(r"\d{4,8}", otp):
        raise Usage("the OTP is the 6-digit number the GST portal sent (nothing was read)")
    ends = service.verify_otp(workspace.id, gstin, username, otp)
    env.out(f"Connected {gstin} to the GST portal as {username}: the session lasts until "
            f"{ends:%d %b %Y %H:%M} IST (6 hours) and is refreshed while it can be.")
    return ExitCode.OK


def _logout(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode
    from ims_bot.workspaces import find_workspace

    service = _service(env)
    workspace = find_workspace(service.db, args.gstin)
    if workspace is None or not service.logout(workspace.id, workspace.gstin):
        env.out(f"{args.gstin.strip().upper()} was not connected.")
    else:
        env.out(f"Disconnected {workspace.gstin}: the portal session is closed and forgotten.")
    return ExitCode.OK


def _sync(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode, _money
    from ims_bot.gsp.service import section_label
    from ims_bot.workspaces import get_workspace

    service = _service(env)
    workspace = get_workspace(service.db, args.gstin)

    def progress(section: str, done: int, of: int) -> None:
        if not args.json:
            print(f"Fetched {section_label(section)} ({done}/{of})", file=env.stderr)

    result = service.sync(workspace.id, workspace.gstin, actor="cli", channel="cli",
                          progress=progress)
    report = result.report
    if args.json:
        env.json({"gstin": workspace.gstin, "fetched": result.fetched, **report.to_json()})
        return ExitCode.OK
    env.out(f"Synced {report.total} record(s) for {workspace.gstin} from the GST portal: "
            f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged.")
    if report.reset_by_supplier:
        env.out(f"{report.reset_by_supplier} record(s) were edited by the supplier after you "
                "acted: they are back to no action.")
    for warning in report.warnings:
        env.out(f"Warning: {warning}")
    env.out(f"ITC on records needing a decision: {_money(report.open_tax.total)}")
    return ExitCode.OK


def _upload(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode
    from ims_bot.workspaces import get_workspace

    service = _service(env)
    workspace = get_workspace(service.db, args.gstin)
    if not args.yes:
        save, reset, left = service.preview(workspace.id)
        if args.json:
            env.json({"gstin": workspace.gstin, "save": len(save), "reset": len(reset),
                      "left_out": left, "sent": False})
        else:
            env.out(f"Would save {len(save)} decision(s) and reset {len(reset)} record(s) on "
                    f"the GST portal for {workspace.gstin}. Add --yes to send.")
        return ExitCode.OK
    report = service.upload(workspace.id, workspace.gstin, actor="cli", channel="cli")
    failed = bool(report.refused or report.pending)
    if args.json:
        env.json({"gstin": workspace.gstin, **report.to_json()})
        return ExitCode.FAILED if failed else ExitCode.OK
    env.out(f"Saved on the GST portal: {len(report.saved)} record(s); refused: "
            f"{len(report.refused)}.")
    for o in report.refused:
        env.out(f"  #{o.record_id} {o.section} {o.supplier_gstin} {o.number}: "
                f"{o.code or 'refused'}: {o.explanation or o.message}")
    for reference in report.pending:
        env.out(f"The portal is still processing request {reference}: upload again later "
                "to see its outcome.")
    if report.left_out:
        parts = ", ".join(f"{k} {n}" for k, n in sorted(report.left_out.items()))
        env.out(f"Not sent (no save schema; act on the portal): {parts}.")
    return ExitCode.FAILED if failed else ExitCode.OK


def _regenerate(env: Any, args: argparse.Namespace) -> Any:
    from ims_bot.cli import ExitCode, Usage
    from ims_bot.gsp.service import PERIOD_RE
    from ims_bot.workspaces import get_workspace

    period = args.period.strip()
    if not PERIOD_RE.match(period):
        raise Usage(f"--period must be MMYYYY, e.g. 102025, got {period[:20]!r}")
    service = _service(env)
    workspace = get_workspace(service.db, args.gstin)
    outcome = service.regenerate(workspace.id, workspace.gstin, period)
    if args.json:
        env.json({"gstin": workspace.gstin, "period": period, "state": outcome.state,
                  "code": outcome.code or None, "message": outcome.message or None})
    elif outcome.state == "done":
        env.out(f"GSTR-2B of {period} for {workspace.gstin} is regenerated on the portal.")
    elif outcome.state == "pending":
        env.out(f"The portal is still regenerating GSTR-2B of {period}: check it there later.")
    else:
        env.out(f"The portal could not regenerate GSTR-2B of {period}: "
                f"{outcome.code or ''} {outcome.message}".strip())
    return ExitCode.OK if outcome.state in ("done", "pending") else ExitCode.FAILED


_COMMANDS = {
    "login": _login,
    "logout": _logout,
    "sync": _sync,
    "upload": _upload,
    "regenerate": _regenerate,
}
