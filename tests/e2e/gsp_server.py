"""A stand-in GSP provider (Sandbox's published shapes) on 127.0.0.1, with fault switches.

    server = GspServer(api_key="k", api_secret="s").start()   # aiohttp, own thread
    server.add_records(gstin, "b2b", [raw, ...])
    server.fail("section", status=429, times=2)               # then answers again
    server.expire_sessions()                                   # AUTH4033 on the next call
    server.supplier_changed(gstin, "b2b", stin, inum)          # its save: IMSSAV0010
    server.regenerate_error("102025", "IMS2B009", "...")
    server.processing(3)                                       # status "IP" three times
    server.stop()

Shapes (in-co-sandbox-docs openapi.json and data/gst/schema/request/taxpayer/): answers are
`{"code", "data", "timestamp", "transaction_id"}`; GSTN calls' `data` is `{"data": {...},
"status_cd": "1"}`, or `{"status_cd": "0", "error": {"error_cd", "message"}}` with HTTP 200;
platform errors are HTTP 401/403/422/429 with `{"code", "message"}`. Tokens go in
`authorization` without "Bearer". Everything the bot sends is kept in `calls` for asserts.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ims_bot.gsp.sandbox import PATHS

SAVE_KEYS = frozenset({
    "stin", "rtnprd", "srcform", "pos", "val", "txval", "iamt", "camt", "samt", "cess",
    "prev_status", "action", "inum", "idt", "inv_typ", "oinum", "oidt", "nt_num", "nt_dt",
    "ont_num", "ont_dt", "remarks", "itcRedReq", "declIgst", "declCgst", "declSgst",
    "declCess",
})


@dataclass
class Call:
    method: str
    name: str  # a key of PATHS
    headers: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class _Fault:
    status: int
    times: int
    body: dict[str, Any] | None = None


@dataclass
class GspServer:
    api_key: str = "key_test"
    api_secret: str = "secret_test"
    otp: str = "575757"
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    #: gstin -> section -> records (raw, as the portal sends them)
    records: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _platform: set[str] = field(default_factory=set)
    _sessions: dict[str, str] = field(default_factory=dict)  # token -> gstin
    _otp_sent: set[tuple[str, str]] = field(default_factory=set)
    _changed: set[tuple[str, str, str, str]] = field(default_factory=set)
    _regen: dict[str, tuple[str, str]] = field(default_factory=dict)
    _requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    _processing: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)

    # --- life -----------------------------------------------------------------------------

    def start(self) -> GspServer:
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._listen())
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
            loop.close()

        self._thread = threading.Thread(target=serve, name="gsp-server", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _listen(self) -> None:
        app = web.Application()
        for name, path in PATHS.items():
            app.router.add_route("*", path, self._handler(name))
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- switches -------------------------------------------------------------------------

    def fail(self, name: str, *, status: int, times: int = 1,
             body: dict[str, Any] | None = None) -> None:
        """The next `times` calls of `name` (a PATHS key, or "*") answer HTTP `status`."""
        with self._lock:
            self._faults.setdefault(name, []).append(_Fault(status, times, body))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def add_records(self, gstin: str, section: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self.records.setdefault(gstin, {}).setdefault(section, []).extend(
                copy.deepcopy(items))

    def supplier_changed(self, gstin: str, section: str, stin: str, number: str) -> None:
        with self._lock:
            self._changed.add((gstin, section, stin, number))

    def regenerate_error(self, period: str, code: str, message: str) -> None:
        with self._lock:
            self._regen[period] = (code, message)

    def processing(self, times: int) -> None:
        """The next `times` status calls answer "IP" (the portal still processing)."""
        with self._lock:
            self._processing = times

    def calls_of(self, name: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.name == name]

    # --- the API --------------------------------------------------------------------------

    def _handler(self, name: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                body = await request.json() if request.can_read_body else None
            except ValueError:
                return _platform_error(422, "Invalid JSON body")
            with self._lock:
                self.calls.append(Call(request.method, name, dict(request.headers),
                                       dict(request.query), body))
                fault = self._take_fault(name)
                if fault is not None:
                    return web.json_response(
                        fault.body or {"code": fault.status, "message": _REASONS.get(
                            fault.status, "error")},
                        status=fault.status,
                    )
                return self._answer(name, request, body)

        return handle

    def _take_fault(self, name: str) -> _Fault | None:
        for key in (name, "*"):
            queue = self._faults.get(key) or []
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        return None

    def _answer(self, name: str, request: web.Request, body: Any) -> web.Response:
        headers = request.headers
        if headers.get("x-api-key") != self.api_key:
            return _platform_error(403, "Invalid API key")
        if name == "authenticate":
            if headers.get("x-api-secret") != self.api_secret:
                return _platform_error(401, "Invalid API secret")
            token = secrets.token_urlsafe(24)
            self._platform.add(token)
            return _ok({"access_token": token})
        token = headers.get("authorization", "")
        if name in ("otp", "verify"):
            if token not in self._platform:
                return _platform_error(403, "Invalid access token")
            if not isinstance(body, dict) or not body.get("username") or not body.get("gstin"):
                return _platform_error(422, "username and gstin are required")
            key = (body["gstin"], body["username"])
            if name == "otp":
                self._otp_sent.add(key)
                return _gstn({"status_cd": "1", "message": "OTP sent"})
            if key not in self._otp_sent or request.query.get("otp") != self.otp:
                return _gstn_error("AUTH4033", "Invalid OTP")
            session = secrets.token_urlsafe(32)
            self._sessions[session] = body["gstin"]
            return _ok({"access_token": session, "expires_in": 6 * 3600})
        gstin = self._sessions.get(token)
        if gstin is None:
            if token in self._platform:
                return _platform_error(403, "Taxpayer calls need the session's token")
            return _gstn_error("AUTH4033", "Invalid Session")
        if name == "refresh":
            del self._sessions[token]
            fresh = secrets.token_urlsafe(32)
            self._sessions[fresh] = gstin
            return _ok({"access_token": fresh, "expires_in": 6 * 3600})
        if name == "logout":
            del self._sessions[token]
            return _gstn({"status_cd": "1"})
        if name == "section":
            section = request.query.get("section", "").lower()
            items = self.records.get(gstin, {}).get(section, [])
            return _gstn({"data": {section: copy.deepcopy(items)}, "status_cd": "1"})
        if name in ("save", "reset"):
            return self._save(gstin, name, body)
        if name == "status" and self._processing > 0:
            self._processing -= 1
            return _gstn({"data": {"status_cd": "IP", "transTypCd": "IMS"}, "status_cd": "1"})
        if name == "status":
            found = self._requests.get(request.query.get("reference_id", ""))
            if found is None:
                return _gstn_error("RET13509", "No request for this reference")
            return _gstn({"data": found, "status_cd": "1"})
        if name == "regenerate":
            if not isinstance(body, dict) or set(body) != {"rtin", "itcprd"}:
                return _platform_error(422, "rtin and itcprd are required")
            problem = self._regen.get(body["itcprd"])
            if problem:
                return _gstn_error(*problem)
            ref = uuid.uuid4().hex
            self._requests[ref] = {"status_cd": "P", "form_typ": "GSTR2B"}
            return _gstn({"data": {"reference_id": ref}, "status_cd": "1"})
        if name == "regenerate_status":
            found = self._requests.get(request.query.get("reference_id", ""))
            if found is None:
                return _gstn_error("RET13509", "No request for this reference")
            return _gstn({"data": found, "status_cd": "1"})
        return _platform_error(404, "Not found")

    def _save(self, gstin: str, name: str, body: Any) -> web.Response:
        if not isinstance(body, dict) or body.get("rtin") != gstin or not isinstance(
            body.get("invdata"), dict
        ):
            return _platform_error(422, "rtin and invdata are required")
        if body.get("reqtyp") != ("RESET" if name == "reset" else "SAVE"):
            return _platform_error(422, "reqtyp does not match")
        report: dict[str, list[dict[str, Any]]] = {}
        processed = 0
        for section, items in body["invdata"].items():
            stored = self.records.get(gstin, {}).get(section, [])
            for item in items:
                extra = set(item) - SAVE_KEYS
                if extra:  # the schema forbids any other key (IMSSAV005 on the portal)
                    return _platform_error(422, f"additional properties: {sorted(extra)}")
                number = item.get("inum") or item.get("nt_num") or ""
                if (gstin, section, item["stin"], number) in self._changed:
                    report.setdefault(section, []).append({
                        "stin": item["stin"], "error_cd": "IMSSAV0010",
                        "error_msg": "Record has been modified by the supplier",
                        "inv": [{"inum": number, "rtnprd": item["rtnprd"]}],
                    })
                    continue
                processed += 1
                for raw in stored:
                    if raw["stin"] == item["stin"] and (
                        raw.get("inum") or raw.get("nt_num")
                    ) == number:
                        raw["action"] = item.get("action", "N")
                        for key in ("remarks", "itcRedReq", "declIgst", "declCgst",
                                    "declSgst", "declCess"):
                            raw.pop(key, None)
                            if key in item:
                                raw[key] = item[key]
        ref = uuid.uuid4().hex
        errors = sum(len(v) for v in report.values())
        self._requests[ref] = {
            "status_cd": "PE" if errors else "P", "transTypCd": "IMS",
            "proc_cnt": str(processed), "err_cnt": str(errors),
            **({"error_report": report} if errors else {}),
        }
        return _gstn({"data": {"reference_id": ref}, "status_cd": "1"})


_REASONS = {401: "Unauthorized", 403: "Forbidden", 422: "Unprocessable entity",
            429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}


def _envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "data": data, "timestamp": 1764000000000,
            "transaction_id": str(uuid.uuid4())}


def _ok(data: Any) -> web.Response:
    return web.json_response(_envelope(data))


def _gstn(data: dict[str, Any]) -> web.Response:
    return web.json_response(_envelope(data))


def _gstn_error(code: str, message: str) -> web.Response:
    return web.json_response(
        _envelope({"status_cd": "0", "error": {"error_cd": code, "message": message}})
    )


def _platform_error(status: int, message: str) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status)


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.e2e.gsp_server [--port N]`: the stand-in with the demo taxpayer's
    records, for `ims-bot chat --demo` without a provider account (prints what to set)."""
    import argparse
    import time

    from ims_bot.demo import DEMO_GSTIN, demo_file

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = GspServer(port=args.port).start()
    for section, items in demo_file()["imsDetails"].items():
        server.add_records(DEMO_GSTIN, section, items)
    print("Stand-in GSP provider on", server.url, "- in another terminal:")
    print(f"  export IMS_BOT_GSP_URL={server.url} IMS_BOT_GSP_API_KEY={server.api_key} "
          f"IMS_BOT_GSP_API_SECRET={server.api_secret} IMS_BOT_SECRET_KEY=demo-secret-key")
    print(f"  ims-bot chat --demo    then /connect, any username, OTP {server.otp}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
