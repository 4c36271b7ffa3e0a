"""The portal's campaign pages: clinic announcements (PO-5) and campaign invitations (PO-6).

Broadcasts come from ``core.campaigns.broadcasts.broadcasts_for`` (which decides the dates, the
assignment and the marketing consent); the inbox lists them above the messages and
``/broadcasts/ID`` shows one. A patient cannot delete an announcement: there is no delete control,
and ``/broadcasts/ID/delete`` answers with a refusal page (403) that changes nothing.

An invitation link ``/invitation/TOKEN`` is handled like a message link (``/m/TOKEN``): the
token's SHA-256 goes, encrypted, into a short-lived cookie and the browser is redirected to
``/invitation``, so the token is never in a later response, URL or log line (the access log cuts
it out of the first). The page says what accepting means and offers push notifications; the POST
(CSRF-checked) calls ``core.campaigns.invitations.accept_invitation_key``. An unknown, expired or
removed invitation gets the portal's one generic "not available" page with the same status as any
dead link. Look-ups are rate-limited per client address and per link, as the identity check is.
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.campaigns.broadcasts import Broadcast, broadcasts_for
from core.campaigns.invitations import (
    InvitationAccepted,
    InvitationInvalid,
    accept_invitation_key,
    invitation_key,
    open_invitation_language,
)
from core.db.models import utcnow
from core.portal.sessions import PortalUser
from portal.app import LINK_COOKIE_SECONDS, PRE_CSRF_COOKIE, Portal, portal_of

INVITE_COOKIE = "accueil_invite"
INLINE_BUDGET = 6 * 1024  # announcement text shown in full on the inbox page; longer ones get a link


# -- broadcasts ----------------------------------------------------------------------------------
def current_broadcasts(portal: Portal, user: PortalUser) -> list[Broadcast]:
    """The announcements the signed-in patient sees today (the clinic's day); runs in a worker thread."""
    today = datetime.now(ZoneInfo(portal.accueil.settings.timezone))
    with portal.accueil.uow() as uow:
        return broadcasts_for(uow.session, user.patient_id, today)


def inline_ids(broadcasts: list[Broadcast]) -> set[int]:
    """Which announcements the inbox shows in full: newest first, while they fit the page budget."""
    shown: set[int] = set()
    used = 0
    for broadcast in broadcasts:
        used += len(broadcast.body_html.encode()) + len(broadcast.title.encode())
        if used > INLINE_BUDGET:
            break
        shown.add(broadcast.campaign_id)
    return shown


async def broadcast_page(request: Request) -> Response:
    portal = portal_of(request)
    user = await portal.user(request)
    if user is None:
        return portal.expired(request)
    wanted = int(request.path_params["id"])
    shown = [b for b in await portal.db(current_broadcasts, portal, user) if b.campaign_id == wanted]
    if not shown:
        return portal.expired(request)
    return portal.render(request, "broadcast.html", user=user, b=shown[0], tab="messages")


async def broadcast_delete(request: Request) -> Response:
    """Announcements are not the patient's to delete: refuse, whatever the method, and change nothing."""
    portal = portal_of(request)
    user = await portal.user(request)
    if user is None:
        return portal.expired(request)
    return portal.render(request, "broadcast_kept.html", user=user, tab="messages", status=403)


# -- invitations ---------------------------------------------------------------------------------
def _seal(portal: Portal, key: bytes) -> str:
    blob = portal.accueil.cipher.encrypt(key + int(time.time()).to_bytes(8, "big"), context="portal-invitation")
    return base64.urlsafe_b64encode(blob).decode()


def _unseal(portal: Portal, request: Request) -> bytes | None:
    try:
        raw = portal.accueil.cipher.decrypt(base64.urlsafe_b64decode(request.cookies.get(INVITE_COOKIE, "")),
                                            context="portal-invitation")
    except Exception:  # noqa: BLE001 - missing, damaged or forged cookie: no invitation
        return None
    issued = int.from_bytes(raw[32:40], "big")
    return raw[:32] if len(raw) == 40 and time.time() - issued < LINK_COOKIE_SECONDS else None


def _allowed(portal: Portal, request: Request, key: bytes) -> bool:
    address = request.client.host if request.client else "?"
    return portal.invitations_per_address.hit(address) and portal.invitations_per_link.hit(key)


async def open_invitation(request: Request) -> Response:
    """``/invitation/TOKEN``: keep only the hash (encrypted cookie) and move the token out of the URL."""
    portal = portal_of(request)
    key = invitation_key(request.path_params["token"])
    lang = request.query_params.get("lang")
    response = RedirectResponse("/invitation" + (f"?lang={lang}" if lang in ("en", "fr") else ""), status_code=303)
    portal.set_cookie(request, response, INVITE_COOKIE, _seal(portal, key), max_age=LINK_COOKIE_SECONDS)
    return response


def _dead(portal: Portal, request: Request) -> Response:
    response = portal.expired(request)
    response.delete_cookie(INVITE_COOKIE, path="/")
    return response


async def invitation_page(request: Request) -> Response:
    portal = portal_of(request)
    key = _unseal(portal, request)
    if key is None:
        return _dead(portal, request)
    if not _allowed(portal, request, key):
        return portal.render(request, "too_many.html", status=429)

    def language() -> str | None:
        with portal.accueil.uow() as uow:
            return open_invitation_language(uow.session, key, utcnow())

    known = await portal.db(language)
    if known is None:
        return _dead(portal, request)
    csrf = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = portal.render(request, "invitation.html", known_language=known, pre_csrf=csrf)
    portal.set_cookie(request, response, PRE_CSRF_COOKIE, csrf, max_age=LINK_COOKIE_SECONDS)
    return response


async def invitation_accept(request: Request) -> Response:
    portal = portal_of(request)
    if portal.too_large(request, 4096):
        return portal.render(request, "expired.html", status=413)
    form = await request.form(max_files=0, max_fields=5, max_part_size=1024)
    if not portal.csrf_ok(request, None, str(form.get("csrf", ""))):
        return portal.render(request, "expired.html", status=403)
    key = _unseal(portal, request)
    if key is None:
        return _dead(portal, request)
    if not _allowed(portal, request, key):
        return portal.render(request, "too_many.html", status=429)
    push = form.get("push") == "on"

    def accept() -> tuple[InvitationAccepted, str]:
        with portal.accueil.uow(write=True) as uow:
            language = open_invitation_language(uow.session, key, utcnow())
            return accept_invitation_key(uow, key, utcnow(), enable_push=push), language or "en"

    try:
        accepted, known = await portal.db(accept)
    except InvitationInvalid:
        return _dead(portal, request)
    response = portal.render(request, "invitation_done.html", known_language=known, accepted=accepted)
    response.delete_cookie(INVITE_COOKIE, path="/")
    return response


ROUTES = [
    Route("/broadcasts/{id:int}", broadcast_page),
    Route("/broadcasts/{id:int}/delete", broadcast_delete, methods=["GET", "POST", "DELETE"]),
    Route("/invitation/{token}", open_invitation),
    Route("/invitation", invitation_page, methods=["GET"]),
    Route("/invitation", invitation_accept, methods=["POST"]),
]
