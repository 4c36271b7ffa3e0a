"""The signed-in pages of the portal: messages (PO-2) with the clinic's announcements (PO-5), reply
with files (PO-3), eForms (PO-4), sign out.

Each handler resolves the session first (a dead one gets the generic expired page), checks the
CSRF token on every POST, then calls one core service in a worker thread. The reply form is
read as it streams (``portal.multipart``) so MS-8's limits stop an oversized upload early.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.db.models import utcnow
from core.errors import NotFound
from core.messaging.attachments import MAX_MESSAGE_BYTES, AttachmentRefused
from core.messaging.eforms import FormAnswerError
from core.messaging.patient_actions import ReplyNotAllowed, record_form_completed, record_reply
from core.portal import inbox
from core.portal.sessions import PortalUser, end_session
from core.portal.uploads import UploadBudget, inspect, server_name
from portal.app import SESSION_COOKIE, Portal, portal_of
from portal.campaign_pages import current_broadcasts, inline_ids
from portal.multipart import BadForm, read_form

MAX_REPLY_CHARS = 20_000


def _local(portal: Portal, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(portal.accueil.settings.timezone)).strftime("%Y-%m-%d %H:%M")


async def _signed_in(request: Request) -> tuple[Portal, PortalUser | None]:
    portal = portal_of(request)
    return portal, await portal.user(request)


def _run(portal: Portal, function: Any, *args: Any, **kwargs: Any) -> Any:
    with portal.accueil.uow(write=True) as uow:
        return function(uow, *args, **kwargs)


async def inbox_page(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    messages = await portal.db(_run, portal, inbox.list_messages, user)
    forms = await portal.db(_run, portal, inbox.pending_forms, user)
    broadcasts = await portal.db(current_broadcasts, portal, user)
    return portal.render(request, "inbox.html", user=user, messages=messages, forms=forms, tab="messages",
                         when=lambda moment: _local(portal, moment), broadcasts=broadcasts,
                         inline=inline_ids(broadcasts))


async def message_page(request: Request, *, problem: str | None = None, status: int = 200,
                       sent: bool = False) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    settings, cipher = portal.accueil.settings, portal.accueil.cipher
    try:
        view = await portal.db(_run, portal, inbox.open_message, user, int(request.path_params["id"]),
                               settings=settings, cipher=cipher)
    except NotFound:
        return portal.expired(request)
    return portal.render(request, "message.html", user=user, m=view, problem=problem, status=status,
                         sent=sent or request.query_params.get("sent") == "1", tab="messages",
                         when=lambda moment: _local(portal, moment),
                         can_write=(view.window.allowed or view.window.attachments_allowed) and not view.window.expired,
                         room_mb=max(0, (MAX_MESSAGE_BYTES - view.patient_bytes) // (1024 * 1024)))


async def reply_submit(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    _ = portal_lang(portal, request, user)
    message_id = int(request.path_params["id"])
    settings, cipher = portal.accueil.settings, portal.accueil.cipher
    try:
        view = await portal.db(_run, portal, inbox.open_message, user, message_id, settings=settings, cipher=cipher,
                               record=False)
    except NotFound:
        return portal.expired(request)
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_MESSAGE_BYTES + 1024 * 1024:
        return await message_page(request, problem=_("The files of one message may not add up to more than 50 MB."),
                                  status=413)
    try:
        form = await read_form(request.headers.get("content-type", ""), request.stream(),
                               UploadBudget(view.patient_bytes), lambda given: portal.csrf_ok(request, user, given))
    except BadForm:
        return portal.render(request, "expired.html", status=403)
    except AttachmentRefused as refused:
        problem = _("A file is larger than 10 MB.") if "10 MB" in refused.message else _(
            "The files of one message may not add up to more than 50 MB.")
        return await message_page(request, status=413, problem=problem)
    text = form.fields.get("text", "")[:MAX_REPLY_CHARS]
    window = view.window
    if window.expired and window.closes_on is not None:
        return await message_page(request, status=400, problem=_("The reply window expired on {date}.").format(
            date=window.closes_on.isoformat()))
    if (text.strip() and not window.allowed) or (form.files and not window.attachments_allowed):
        return await message_page(request, status=400, problem=_("The clinic did not ask for this with this message."))
    if not text.strip() and not form.files:
        return await message_page(request, status=400, problem=_("Write a reply or choose a file."))
    now = utcnow()
    files = []
    for number, (name, data) in enumerate(form.files, start=1):
        try:
            checked = await portal.db(inspect, name, data)
        except AttachmentRefused:
            return await message_page(request, status=415, problem=_(
                "One of the files cannot be accepted: the accepted types are jpg, jpeg, png, tiff, tif, bmp, mp3, "
                "mp4, txt, pdf, avi and mov, and the content must match the type. Damaged, password-protected or "
                "very large images and PDF files are refused."))
        files.append((server_name(checked.extension, number, now), data))
    try:
        await portal.db(_run, portal, record_reply, message_id, text if window.allowed else "", files,
                        settings=settings, cipher=cipher, now=now)
    except (ReplyNotAllowed, AttachmentRefused):
        return await message_page(request, status=400, problem=_("The reply could not be sent."))
    return RedirectResponse(f"/messages/{message_id}?sent=1", status_code=303)


async def delete_page(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    message_id = int(request.path_params["id"])
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=5)
        if not portal.csrf_ok(request, user, str(form.get("csrf", ""))):
            return portal.render(request, "expired.html", status=403)
        try:
            await portal.db(_run, portal, inbox.delete_message, user, message_id)
        except NotFound:
            return portal.expired(request)
        return RedirectResponse("/inbox", status_code=303)
    return portal.render(request, "delete.html", user=user, message_id=message_id, tab="messages")


async def file_download(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    try:
        file = await portal.db(_run, portal, inbox.download, user, int(request.path_params["id"]),
                               cipher=portal.accueil.cipher)
    except NotFound:
        return portal.expired(request)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in file.name)[:100]
    disposition = f"attachment; filename=\"{safe or 'file'}\"; filename*=UTF-8''{quote(file.name[:100])}"
    return Response(file.data, media_type=file.content_type, headers={"content-disposition": disposition})


async def forms_page(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    forms = await portal.db(_run, portal, inbox.pending_forms, user)
    return portal.render(request, "forms.html", user=user, forms=forms, tab="forms",
                         done=request.query_params.get("done") == "1")


async def form_page(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is None:
        return portal.expired(request)
    request_id = int(request.path_params["id"])
    try:
        form = await portal.db(_run, portal, inbox.form_to_fill, user, request_id)
    except NotFound:
        return portal.expired(request)
    lang = portal.language(request, user)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if portal.too_large(request, 1024 * 1024):
            return portal.render(request, "expired.html", status=413)
        data = await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024)
        if not portal.csrf_ok(request, user, str(data.get("csrf", ""))):
            return portal.render(request, "expired.html", status=403)
        for field in form.definition.fields:
            if field.type == "multiple_choice":
                answers[field.name] = [str(v) for v in data.getlist(field.name)]
            elif str(data.get(field.name, "")).strip():
                answers[field.name] = str(data.get(field.name, ""))
        try:
            await portal.db(_run, portal, record_form_completed, request_id, answers, language=lang,
                            settings=portal.accueil.settings, cipher=portal.accueil.cipher, channel="online")
            return RedirectResponse("/forms?done=1", status_code=303)
        except FormAnswerError as problem:
            errors, status = problem.errors, 400
        except NotFound:
            return portal.expired(request)
    return portal.render(request, "form.html", user=user, form=form, answers=answers, errors=errors, tab="forms",
                         status=status)


async def sign_out(request: Request) -> Response:
    portal, user = await _signed_in(request)
    if user is not None:
        form = await request.form(max_files=0, max_fields=5)
        if not portal.csrf_ok(request, user, str(form.get("csrf", ""))):
            return portal.render(request, "expired.html", status=403)
        token = request.cookies.get(SESSION_COOKIE)
        await portal.db(_run, portal, end_session, token)
    response = portal.render(request, "signed_out.html")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def portal_lang(portal: Portal, request: Request, user: PortalUser):  # noqa: ANN201 - a translate function
    from core.i18n import translate

    lang = portal.language(request, user)
    return lambda text: translate(text, lang)


ROUTES = [
    Route("/inbox", inbox_page), Route("/messages/{id:int}", message_page),
    Route("/messages/{id:int}/reply", reply_submit, methods=["POST"]),
    Route("/messages/{id:int}/delete", delete_page, methods=["GET", "POST"]),
    Route("/files/{id:int}", file_download), Route("/forms", forms_page),
    Route("/forms/{id:int}", form_page, methods=["GET", "POST"]), Route("/signout", sign_out, methods=["POST"]),
]
