"""The demo's mail goes over real SMTP to a local sink (flask mail sink) and can be read on
/admin/mail; without a sink configured the page does not exist."""
from __future__ import annotations

import threading
import time

from app.adapters import mailsink
from app.extensions import db
from app.services import notices
from app.services import reminders as reminders_svc
from tests.conftest import free_port
from tests.integration.test_submissions import user


def test_the_demo_mailbox_receives_over_smtp_and_shows_it(app, client, auth, tmp_path):
    port = free_port()
    folder = tmp_path / "sink"
    threading.Thread(target=mailsink.serve, args=(folder,), kwargs={"port": port}, daemon=True).start()
    for _ in range(50):
        if folder.exists():
            break
        time.sleep(0.05)
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_SINK_DIR")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME=None, MAIL_SINK_DIR=str(folder))
    try:
        notices.send(notices.Notice("request", ("*", "YC999", "T01.SCT", 0), "Yêu cầu báo cáo đột xuất: Tết", "Hạn gửi 20/01/2027."),
                     [user("canbo.sct")])
        db.session.commit()
        assert reminders_svc.deliver().sent == 1
        [mail] = mailsink.kept(folder)
        assert mail.subject == "[baocao] Yêu cầu báo cáo đột xuất: Tết" and "canbo.sct@baocao.local" in mail.to
        auth.login("quantri")
        page = client.get("/admin/mail").get_data(as_text=True)
        assert "Yêu cầu báo cáo đột xuất: Tết" in page and "Hạn gửi 20/01/2027." in page
        assert 'data-testid="nav-mail"' in page
    finally:
        app.config.update(saved)
    assert client.get("/admin/mail").status_code == 404  # no sink, no page


def test_the_demo_story_gives_the_bell_something_true_to_say(app):
    from sqlalchemy import select

    from app.models import Notification
    from app.services.seed import demo_story

    done = demo_story()
    assert len(done) == 2 and "trả lại báo cáo" in done[0]
    titles = [n.title for n in db.session.scalars(select(Notification).where(Notification.user_id == user("canbo.sct").id))]
    assert any(t.startswith("Báo cáo bị trả lại") for t in titles) and any(t.startswith("Yêu cầu báo cáo đột xuất") for t in titles)
    assert demo_story() == []  # idempotent: the next start of the demo adds nothing
