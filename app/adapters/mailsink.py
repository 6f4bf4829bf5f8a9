"""A local mail sink for the demo: a real SMTP server (aiosmtpd) on localhost that keeps every
message it receives as an .eml file, so the demo's reminders and notices travel over SMTP exactly
as in production and can be read on /admin/mail. Never for production (the CLI refuses)."""
from __future__ import annotations

import email
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from pathlib import Path

MAX_KEPT = 2000


class _Keep:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / (name + ".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.replace(self.folder / name)
        old = sorted(self.folder.glob("*.eml"))[:-MAX_KEPT]
        for path in old:
            path.unlink(missing_ok=True)
        return "250 OK"


def serve(folder: Path, host: str = "127.0.0.1", port: int = 2525) -> None:
    """Receive mail until interrupted."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keep(folder), hostname=host, port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@dataclass(frozen=True)
class Kept:
    name: str
    received: datetime
    to: str
    subject: str
    text: str


def kept(folder: Path, limit: int = 50) -> list[Kept]:
    """The newest messages the sink kept, newest first."""
    out = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(("plain",))
        out.append(Kept(path.name, datetime.fromtimestamp(int(path.name.split("-")[0]) / 1e9).astimezone(),
                        str(msg.get("To", "")), str(msg.get("Subject", "")), body.get_content()[:4000] if body else ""))
    return out
