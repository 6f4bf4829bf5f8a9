"""Mail delivery over several SMTP connections, each from its own process (PostgreSQL): every
queued message reaches the server exactly once and is marked sent; one refused address is retried
alone. Runs the app on a database of its own (the delivering processes cannot see the suite's
rolled-back transaction)."""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="several delivering processes need PostgreSQL")


def test_several_processes_deliver_each_message_once(database, tmp_path):
    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app import create_app
    from app.extensions import db
    from app.models import MailMessage, ReminderEvent
    from app.models.base import utcnow
    from app.services import reminders
    from tests.conftest import MailBox, free_port

    box = MailBox()
    box.refuse.add("bad@xa.baocao.local")
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database, "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "mail-test-0123456789abcdef",
                          "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_USERNAME": None,
                          "MAIL_CONNECTIONS": 3})
        with app.app_context():
            upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "..", "app", "migrations"))
            event = ReminderEvent(kind="reminder", regime_code="X", period_key="2026-M11", agency_code="A", step=0)
            db.session.add(event)
            db.session.flush()
            now = utcnow()
            addresses = [f"xa{i:03d}@xa.baocao.local" for i in range(180)] + ["bad@xa.baocao.local"]
            db.session.execute(insert(MailMessage), [
                {"event_id": event.id, "to_address": a, "subject": f"Nhắc hạn báo cáo số {i}", "body_text": "Kính gửi", "body_html": "<p>Kính gửi</p>",
                 "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now} for i, a in enumerate(addresses)])
            db.session.commit()
            result = reminders.deliver(now=now)
            assert (result.sent, result.retried, result.failed) == (180, 1, 0)
            received = [m["To"] for _rcpt, m in box.messages]
            assert len(received) == 180 and len(set(received)) == 180  # every message once
            assert len({m["Message-ID"] for _rcpt, m in box.messages}) == 180
            by_status = dict(db.session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)).all())
            assert by_status == {"sent": 180, "pending": 1}
            again = reminders.deliver(now=now)  # nothing leased twice: the refused one waits for its back-off
            assert (again.sent, again.retried) == (0, 0) and len(box.messages) == 180
            db.session.remove()
            db.engine.dispose()
    finally:
        from app.services import mail_delivery

        mail_delivery._deliverers.shutdown()
        controller.stop()


def test_a_deliverer_killed_mid_burst_the_rest_is_sent_from_the_job_each_once(database, tmp_path, monkeypatch):
    """The deliverers are spawned processes kept by the process that delivers (a job worker): one
    is SIGKILLed after its third message; Python then stops the others (SIGTERM), which finish the
    message in hand first; what the burst had not marked sent is sent by the caller, nothing twice
    (CI once saw a message twice before they did), and the next burst gets new deliverers."""
    import asyncio
    import signal
    import threading
    import time

    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app import create_app
    from app.extensions import db
    from app.models import MailMessage, ReminderEvent
    from app.models.base import utcnow
    from app.services import mail_delivery
    from tests.conftest import MailBox, free_port

    class SlowBox(MailBox):  # keeps each message, then answers "250 OK" 50 ms later: when one deliverer is
        async def handle_DATA(self, server, session, envelope):  # killed, the others are likely inside that window
            self.messages.append((list(envelope.rcpt_tos), self._parse(envelope.content)))
            await asyncio.sleep(0.05)
            return "250 OK"

    box, port = SlowBox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    marker = tmp_path / "marker"
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database, "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "mail-test-0123456789abcdef",
                          "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_USERNAME": None,
                          "MAIL_CONNECTIONS": 3})
        with app.app_context():
            upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "..", "app", "migrations"))
            event = ReminderEvent(kind="reminder", regime_code="X", period_key="2026-M11", agency_code="A", step=0)
            db.session.add(event)
            db.session.flush()
            now = utcnow()
            db.session.execute(insert(MailMessage), [
                {"event_id": event.id, "to_address": f"xa{i:03d}@xa.baocao.local", "subject": f"Nhắc hạn báo cáo số {i}", "body_text": "Kính gửi",
                 "body_html": "<p>Kính gửi</p>", "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for i in range(150)])
            db.session.commit()
            # the deliverers (only they, started now) stop after their third message, marked sent, to be killed there
            mail_delivery._deliverers.shutdown()
            monkeypatch.setenv("BAOCAO_FAULTPOINT", "deliver.marked")
            monkeypatch.setenv("BAOCAO_FAULTPOINT_HIT", "3")
            monkeypatch.setenv("BAOCAO_FAULTPOINT_FILE", str(marker))
            mail_delivery.warm()
            monkeypatch.delenv("BAOCAO_FAULTPOINT")
            victims = mail_delivery._deliverers.processes()
            assert len(victims) == 3
            out = {}

            def burst():
                with app.app_context():
                    out["result"] = mail_delivery.deliver(now=now)

            t = threading.Thread(target=burst)
            t.start()
            deadline = time.time() + 60
            while not marker.exists() and time.time() < deadline:
                time.sleep(0.05)
            assert marker.exists(), "no deliverer reached its third message"
            time.sleep(0.05)  # the marker is written; its pid with it
            victim = int(marker.read_text().split()[1])  # the deliverer stopped after its third message (the others go on)
            assert victim in {p.pid for p in victims}
            os.kill(victim, signal.SIGKILL)
            t.join(60)
            assert not t.is_alive()
            db.session.expire_all()
            by_status = dict(db.session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)).all())
            assert by_status == {"sent": 150}
            ids = [m["Message-ID"] for _rcpt, m in box.messages]
            assert len(ids) == 150 and len(set(ids)) == 150  # each once
            assert 0 < out["result"].sent < 150  # the caller sent what the killed burst had left
            assert all(not p.is_alive() for p in victims)
            # the next burst: new deliverers
            db.session.execute(insert(MailMessage), [
                {"event_id": event.id, "to_address": f"phuong{i:03d}@xa.baocao.local", "subject": "Nhắc hạn", "body_text": "Kính gửi",
                 "body_html": "<p>Kính gửi</p>", "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for i in range(120)])
            db.session.commit()
            assert mail_delivery.deliver(now=now).sent == 120
            assert db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.status == "sent")) == 270
            assert len(box.messages) == 270
            fresh = {p.pid for p in mail_delivery._deliverers.processes()}
            assert len(fresh) == 3 and fresh.isdisjoint({p.pid for p in victims})
            db.session.remove()
            db.engine.dispose()
    finally:
        mail_delivery._deliverers.shutdown()
        controller.stop()
