"""MS-6 on both backends: the server's final answer becomes a delivered or failed event, once.

Real SMTP (aiosmtpd on loopback): one message accepted, one refused with 550 5.1.1, one dropped
after its content (uncertain). The worker's scheduler writes the events; running it again, or a
second worker's scheduler, writes nothing more.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from core.bootstrap import Accueil
from core.db.models import Event, OutboxItem
from core.outbox.scheduler import Scheduler
from tests.integration.test_outbox import FakeClock, ScriptedSmtpServer, add_patient, queue_email, smtp_worker


def test_final_answers_become_events_once(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient = add_patient(uow.session, 1)
        refused, accepted, dropped = (queue_email(uow.session, app.cipher, patient, f"p{n}@example.test", f"m:{n}")[1]
                                      for n in range(3))
        uow.commit()
    clock = FakeClock()
    with ScriptedSmtpServer() as smtp_server:
        smtp_server.handler.script["RCPT"].append("550 5.1.1 user unknown")
        smtp_server.handler.script["DATA"].extend(["", "DROP"])
        assert smtp_worker(app, smtp_server, clock).run_once() == 3
    assert Scheduler().run_due(app, clock.now) >= 2
    assert Scheduler().run_due(app, clock.now + timedelta(minutes=1)) == 0  # another worker: nothing twice
    with app.uow() as uow:
        rows = uow.session.execute(select(Event.kind, Event.message_id, Event.patient_id, Event.at)
                                   .where(Event.kind.in_(("message.delivered", "message.failed")))).all()
        done = dict(uow.session.execute(select(OutboxItem.message_id, OutboxItem.done_at)).all())
    assert Counter((kind, message) for kind, message, _, _ in rows) == Counter(
        {("message.failed", refused): 1, ("message.delivered", accepted): 1})
    assert all(patient_id == patient and at == done[message] for _, message, patient_id, at in rows)
    assert dropped not in {message for _, message, _, _ in rows}  # uncertain: no event until resent
