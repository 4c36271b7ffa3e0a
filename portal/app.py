"""The patient portal's web face (PO-1..PO-4, PO-7, PO-8): a Starlette app over the same core as the TUI.

``create_app(accueil)`` builds it. Pages are Jinja2 templates rendered on the server, with one
small stylesheet served by the portal itself and no JavaScript. Every response carries a
Content-Security-Policy that allows only the portal, ``no-store`` caching and no referrer; the
link token never appears in a response or a log line: ``/m/TOKEN`` keeps only its SHA-256,
encrypted in a short-lived cookie, and redirects to ``/check`` (``/invitation/TOKEN`` likewise, in
``portal.campaign_pages``). Database work runs in worker
threads through core services only (``core.portal`` and ``core.messaging.patient_actions``).
A failed identity check answers no sooner than ``FAILURE_FLOOR`` after the request came in,
whatever was wrong (PO-1), so what little the database work differs cannot be timed.
This module holds the plumbing and the identity check; ``portal.views`` the signed-in pages.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.bootstrap import Accueil
from core.crypto import SiteKeyChanged
from core.i18n import translate
from core.portal.access import MAX_FAILURES, checks_for, link_key, verify_identity
from core.portal.inbox import clinic_name
from core.portal.sessions import PortalUser, csrf_token, resolve_session
from portal.limits import ATTEMPTS_PER_ADDRESS, ATTEMPTS_PER_LINK, SlidingWindow, UnknownLinkFailures

HERE = Path(__file__).parent
SESSION_COOKIE, LINK_COOKIE, PRE_CSRF_COOKIE, LANG_COOKIE = "accueil_session", "accueil_link", "accueil_csrf", "lang"
LINK_COOKIE_SECONDS = 30 * 60
FAILURE_FLOOR = 0.1  # seconds: the least time a failed identity check takes to answer
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
log = logging.getLogger("accueil.portal")
_LINK_PATH = re.compile(r"^/(m|invitation)/[^/?]*")


class SecurityHeaders:
    """ASGI middleware: the same protective headers on every response, and a redacted access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                            (b"cache-control", b"no-store"), (b"cross-origin-opener-policy", b"same-origin")]
                message["headers"] = headers
                log.info("%s %s %s %.0f ms", scope["method"], _LINK_PATH.sub(r"/\1/…", scope["path"]),
                         message["status"], (time.perf_counter() - started) * 1000)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Portal:
    """Shared state of one portal process: the clinic, templates and the in-process limits."""

    def __init__(self, accueil: Accueil) -> None:
        self.accueil = accueil
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                               trim_blocks=True, lstrip_blocks=True)
        self.css = (HERE / "static" / "portal.css").read_text(encoding="utf-8")
        self.per_link = SlidingWindow(*ATTEMPTS_PER_LINK)
        self.per_address = SlidingWindow(*ATTEMPTS_PER_ADDRESS)
        self.unknown_links = UnknownLinkFailures(MAX_FAILURES)
        self.invitations_per_address = SlidingWindow(*ATTEMPTS_PER_ADDRESS)  # PO-6 look-ups, same limits
        self.invitations_per_link = SlidingWindow(*ATTEMPTS_PER_LINK)
        with accueil.uow() as uow:
            self.clinic = clinic_name(uow.session)

    # -- helpers ------------------------------------------------------------------------
    def secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.accueil.settings.portal_base_url.startswith("https:")

    def language(self, request: Request, user: PortalUser | None = None, known: str | None = None) -> str:
        wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        if wanted in ("en", "fr"):
            return wanted
        if user is not None:
            return user.language if user.language in ("en", "fr") else "en"
        if known in ("en", "fr"):
            return known
        return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"

    def set_cookie(self, request: Request, response: Response, name: str, value: str, max_age: int | None = None,
                   path: str = "/") -> None:
        response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
                            secure=self.secure(request))

    def render(self, request: Request, template: str, *, user: PortalUser | None = None, status: int = 200,
               known_language: str | None = None, **context: Any) -> HTMLResponse:
        lang = self.language(request, user, known_language)
        other = "fr" if lang == "en" else "en"
        html = self.env.get_template(template).render(
            _=lambda text: translate(text, lang), lang=lang, other=other, clinic=self.clinic, user=user,
            switch_url=f"{request.url.path}?lang={other}", csrf=csrf_token(request.cookies.get(SESSION_COOKIE, ""))
            if user else "", **context)
        response = HTMLResponse(html, status_code=status)
        if request.query_params.get("lang") in ("en", "fr"):
            self.set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
        return response

    def expired(self, request: Request) -> HTMLResponse:
        """The one generic page for a dead session, a purged or expired link, anything not there."""
        response = self.render(request, "expired.html", status=404)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def dead_link(self, request: Request) -> HTMLResponse:
        response = self.expired(request)
        response.delete_cookie(LINK_COOKIE, path="/")
        return response

    @staticmethod
    def too_large(request: Request, limit: int) -> bool:
        """A form body declared larger than any form of this portal needs (read before parsing)."""
        try:
            return int(request.headers.get("content-length") or 0) > limit
        except ValueError:
            return True

    async def db(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(function, *args, **kwargs)

    async def user(self, request: Request) -> PortalUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None

        def resolve() -> PortalUser | None:
            with self.accueil.uow(write=True) as uow:
                return resolve_session(uow, token)

        return await self.db(resolve)

    def csrf_ok(self, request: Request, user: PortalUser | None, given: str) -> bool:
        expected = csrf_token(request.cookies.get(SESSION_COOKIE, "")) if user else request.cookies.get(
            PRE_CSRF_COOKIE, "")
        return bool(expected) and secrets.compare_digest(expected.encode(), given.encode("utf-8", "replace"))

    # -- the link cookie: the token's hash, encrypted, with the time it was issued --------------------
    def seal_link(self, key: bytes) -> str:
        blob = self.accueil.cipher.encrypt(key + int(time.time()).to_bytes(8, "big"), context="portal-link")
        return base64.urlsafe_b64encode(blob).decode()

    def open_link(self, request: Request) -> bytes | None:
        try:
            raw = self.accueil.cipher.decrypt(base64.urlsafe_b64decode(request.cookies.get(LINK_COOKIE, "")),
                                              context="portal-link")
        except Exception:  # noqa: BLE001 - missing, damaged or forged cookie: no link
            return None
        issued = int.from_bytes(raw[32:40], "big")
        return raw[:32] if len(raw) == 40 and time.time() - issued < LINK_COOKIE_SECONDS else None


# -- the identity check -----------------------------------------------------------------------
async def home(request: Request) -> Response:
    return portal_of(request).render(request, "home.html")


async def open_link(request: Request) -> Response:
    portal = portal_of(request)
    key = link_key(request.path_params["token"])
    lang = request.query_params.get("lang")
    response = RedirectResponse("/check" + (f"?lang={lang}" if lang in ("en", "fr") else ""), status_code=303)
    portal.set_cookie(request, response, LINK_COOKIE, portal.seal_link(key), max_age=LINK_COOKIE_SECONDS)
    return response


async def check_page(request: Request, *, error: bool = False, status: int = 200) -> Response:
    portal = portal_of(request)
    key = portal.open_link(request)

    def fields() -> tuple[str, ...] | None:
        with portal.accueil.uow() as uow:
            return checks_for(uow, key or bytes(32))

    checks = await portal.db(fields)
    if checks is None:  # a link that was sent but is dead (purged, expired): the generic page
        return portal.dead_link(request)
    csrf = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = portal.render(request, "identity.html", checks=checks, error=error, pre_csrf=csrf, status=status)
    portal.set_cookie(request, response, PRE_CSRF_COOKIE, csrf, max_age=LINK_COOKIE_SECONDS)
    return response


async def check_submit(request: Request) -> Response:
    started = time.perf_counter()
    portal = portal_of(request)
    if portal.too_large(request, 16 * 1024):
        return portal.render(request, "expired.html", status=413)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    answers = {name: str(form.get(name, ""))[:200] for name in ("date_of_birth", "health_number", "chart_id",
                                                                "password")}
    if not portal.csrf_ok(request, None, str(form.get("csrf", ""))):
        return portal.render(request, "expired.html", status=403)
    key = portal.open_link(request) or bytes(32)
    address = request.client.host if request.client else "?"
    if not (portal.per_address.hit(address) and portal.per_link.hit(key)):
        return portal.render(request, "too_many.html", status=429)

    def verify():  # noqa: ANN202
        with portal.accueil.uow(write=True) as uow:
            return verify_identity(uow, key, answers)

    outcome = await portal.db(verify)
    if outcome.ok:
        response = RedirectResponse("/inbox", status_code=303)
        portal.set_cookie(request, response, SESSION_COOKIE, outcome.session_token)
        response.delete_cookie(LINK_COOKIE, path="/")
        return response
    if outcome.reason == "dead":
        failure: Response = portal.dead_link(request)
    elif outcome.reason == "locked" or (outcome.reason == "unknown" and portal.unknown_links.fail(key)):
        failure = portal.render(request, "locked.html", status=200)
    else:
        failure = await check_page(request, error=True)
    # Every failure answers no sooner than FAILURE_FLOOR after the request came in, so the little the
    # database work differs (a real link's row is read and updated, a made-up one matches nothing)
    # cannot be measured from outside.
    await anyio.sleep(max(0.0, FAILURE_FLOOR - (time.perf_counter() - started)))
    return failure


async def stylesheet(request: Request) -> Response:
    return Response(portal_of(request).css, media_type="text/css")


async def key_changed_page(request: Request, exc: Exception) -> Response:
    """A save refused because the site key was just changed by a rotation (``core.uow``): nothing was
    saved, and the next try encrypts with the new key."""
    return portal_of(request).render(request, "try_again.html", status=503)


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


def create_app(accueil: Accueil) -> ASGIApp:
    from portal import campaign_pages, views

    routes = [
        Route("/", home), Route("/m/{token}", open_link), Route("/check", check_page, methods=["GET"]),
        Route("/check", check_submit, methods=["POST"]), Route("/portal.css", stylesheet),
        *views.ROUTES, *campaign_pages.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers={SiteKeyChanged: key_changed_page})
    app.state.portal = Portal(accueil)
    return SecurityHeaders(app)


__all__ = ["CSP", "Portal", "create_app"]
