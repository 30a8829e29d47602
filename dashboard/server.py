"""The dashboard's web server: Streamlit's own server (``st.App``) plus the two routes that set and drop the login
cookie, which a Streamlit script cannot do (it only talks over the websocket).

``bopwatch dashboard`` runs ``python -m dashboard.server --server.port N ...`` (the same ``--name value`` options
as ``streamlit run``, and like it the ``STREAMLIT_*`` environment variables, which the options override). Routes
(docs/dashboard.md, "Login sessions"):

- ``GET /bopwatch/session?grant=CODE`` (fetched by the page right after login): the one-time grant, bound to
  this browser's ``bopwatch_bind`` cookie, is exchanged for the ``bopwatch_session`` cookie (HttpOnly,
  SameSite=Lax, Secure over HTTPS, Max-Age = what is left of the login's lifetime); 204 either way.
- ``GET /bopwatch/logout?next=PATH``: drops the cookie once its login has ended (the "Log out" button ends it
  server-side first, over the websocket), so a link from elsewhere cannot log anyone out; then 303 to ``PATH``.

A small middleware gives every browser that loads a page without one a random ``bopwatch_bind`` cookie (HttpOnly,
SameSite=Strict): a grant is only redeemed by the browser whose websocket asked for it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from compliance.access.auth import (
    BIND_COOKIE,
    SESSION_COOKIE,
    AuthError,
    SessionBook,
    load_accounts,
    open_sessions,
)

__all__ = ["SESSION_PATH", "LOGOUT_PATH", "build_app", "safe_next", "server_config", "main"]

log = logging.getLogger(__name__)

SESSION_PATH = "/bopwatch/session"
LOGOUT_PATH = "/bopwatch/logout"
APP = Path(__file__).resolve().with_name("app.py")
_PAGE_PATH = re.compile(r"/[a-z0-9_-]{0,32}")
# Requests that are not a page load: Streamlit's API, assets, media, components, our routes, OIDC.
_NOT_A_PAGE = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/bopwatch/", "/auth/",
               "/oauth2callback", "/favicon")


def safe_next(value: str | None) -> str:
    """``value`` when it is a page of this app (``/car?event=..``), else ``/``: no open redirect."""
    split = urlsplit(value or "/")
    if split.scheme or split.netloc or not _PAGE_PATH.fullmatch(split.path) or split.fragment:
        return "/"
    return split.path + (f"?{split.query}" if split.query else "")


def _book() -> SessionBook:
    return open_sessions(os.environ["BOPWATCH_SESSION_DIR"])


def _secure(scheme: str) -> bool:
    from streamlit import config
    return scheme in ("https", "wss") or bool(config.get_option("server.sslCertFile"))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _redirect(target: str):
    from starlette.responses import RedirectResponse
    return _no_store(RedirectResponse(target, status_code=303))


def _session_route(request):
    from starlette.responses import Response
    response = _no_store(Response(status_code=204))
    now = time.time()
    try:
        accounts = load_accounts(os.environ["BOPWATCH_ACCOUNTS"])
        value, session = _book().redeem(accounts, request.query_params.get("grant", ""),
                                        request.cookies.get(BIND_COOKIE), now)
    except AuthError as err:
        log.info("login grant refused: %s", err)
        return response
    left = int(session.issued_at + accounts.session_ttl_s - now)
    response.set_cookie(SESSION_COOKIE, value, max_age=max(left, 1), path="/", secure=_secure(request.url.scheme),
                        httponly=True, samesite="lax")
    return response


def _logout_route(request):
    response = _redirect(safe_next(request.query_params.get("next")))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            _book().resume(load_accounts(os.environ["BOPWATCH_ACCOUNTS"]), cookie, time.time(), touch=False)
        except AuthError:        # ended, expired or not ours: the cookie goes
            response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request.url.scheme), httponly=True,
                                   samesite="lax")
    return response


class _BindCookie:
    """ASGI middleware: a page load from a browser without a ``bopwatch_bind`` cookie gets one."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope["path"].startswith(_NOT_A_PAGE):
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection
        if HTTPConnection(scope).cookies.get(BIND_COOKIE):
            await self.app(scope, receive, send)
            return
        cookie = (f"{BIND_COOKIE}={secrets.token_urlsafe(24)}; HttpOnly; Path=/; SameSite=Strict"
                  + ("; Secure" if _secure(scope.get("scheme", "http")) else ""))

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def build_app():
    """``st.App`` on ``dashboard/app.py`` with the session routes and the bind-cookie middleware."""
    import streamlit as st
    from starlette.middleware import Middleware
    from starlette.routing import Route
    return st.App(APP, routes=[Route(SESSION_PATH, _session_route, methods=["GET"]),
                               Route(LOGOUT_PATH, _logout_route, methods=["GET"])],
                  middleware=[Middleware(_BindCookie)])


def _typed(option, text: str) -> object:
    """``text`` as ``option``'s type, as ``streamlit run`` reads a flag or a ``STREAMLIT_*`` variable."""
    if option.multiple:
        return text.split()
    if option.type is bool:
        return text.strip().lower() in ("1", "true", "yes", "y", "on")
    return option.type(text) if option.type in (int, float) else text


def server_config(argv: list[str], environ: dict[str, str]) -> dict[str, object]:
    """Streamlit's options for ``App.run``: every ``STREAMLIT_*`` variable of a non-secret option (``streamlit
    run`` reads them through its command line, ``App.run`` does not), then the ``--name value`` pairs of ``argv``,
    which win. Secret options (``server.cookieSecret``) are left to Streamlit, which reads them itself."""
    from streamlit import config
    if len(argv) % 2 or not all(name.startswith("--") for name in argv[::2]):
        raise SystemExit("usage: python -m dashboard.server [--<streamlit option> <value>]...")
    known = config.get_config_options()
    chosen: dict[str, object] = {}
    for name, option in known.items():
        if not option.sensitive and environ.get(option.env_var) not in (None, "") and "." in name:
            chosen[name] = _typed(option, environ[option.env_var])
    for flag, text in zip(argv[::2], argv[1::2], strict=True):
        name = flag[2:]
        if name not in known:
            raise SystemExit(f"unknown Streamlit option {flag}")
        chosen[name] = _typed(known[name], text)
    return chosen


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/Ctrl-C; ``argv``: ``--server.port 8501 --server.address 127.0.0.1 ...``."""
    argv = sys.argv[1:] if argv is None else argv
    if not os.environ.get("BOPWATCH_SESSION_DIR") or not os.environ.get("BOPWATCH_ACCOUNTS"):
        raise SystemExit("start the dashboard with 'bopwatch dashboard' (it sets BOPWATCH_SESSION_DIR and "
                         "BOPWATCH_ACCOUNTS)")
    options = server_config(argv, dict(os.environ))
    app = build_app()
    sys.argv = [str(Path(__file__).resolve())]     # st.App.run reads the launcher (config folder) from argv[0]
    app.run(config=options)


if __name__ == "__main__":
    main()
