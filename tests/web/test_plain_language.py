"""Every page, as every role sees it, in Vietnamese and in English, speaks the user's language: no
raw keys (period keys such as 2026-M11, snake_case codes such as on_time or day_of_month, English
status words in the Vietnamese UI, a Python or JSON repr, a decimal point in a Vietnamese number)
and, in English, no Vietnamese period labels. Codes the user works with on purpose (indicator and
regime codes) are shown in <code> and not checked.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.web.test_access_matrix import DEMO, MATRIX, _url, world  # noqa: F401 — the world fixture

SKIP_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea", "title"}
PERIOD_KEY = re.compile(r"\b\d{4}-(?:M\d{2}|Q[1-4]|S[12]|W\d{2}|9M)\b")
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
REPR = re.compile(r"\{['\"]|\['|\bNone\b|\bTrue\b|\bFalse\b")
ENGLISH_WORDS = re.compile(r"\b(?:pending|sent|failed|reminder|digest|error|warning|monthly|quarterly|annual|weekly|insert|update|"
                           r"delete|late|missing|draft|submitted|approved|returned|not_started|on_time|Cannot|Unknown|"
                           r"server|remote|external)\b")
DOT_DECIMAL = re.compile(r"(?<![\d.,/])\d+\.\d{1,2}(?![\d.])")  # 0.79 (Vietnamese writes 0,79; 1.234 is a thousands group)
VI_PERIOD = re.compile(r"\b(?:Tháng \d{1,2}/\d{4}|Quý [IV]+/\d{4}|Năm \d{4}|6 tháng (?:đầu|cuối) năm)")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Visible(HTMLParser):
    """The text a person reads: outside scripts, styles, code and form values, and outside parts
    marked as written in another language (lang="en" on an English name in the Vietnamese UI)."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang, self.stack, self.parts = lang, [], []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        other = dict(attrs).get("lang") not in (None, self.lang) and tag != "html"
        self.stack.append((tag, tag in SKIP_TAGS or other))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    @property
    def skip(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str, lang: str = "vi") -> list[str]:
    parser = Visible(lang)
    parser.feed(html)
    return parser.parts


def _pages(principal):
    for endpoint, lines in MATRIX.items():
        if not endpoint.startswith("web.") or endpoint.endswith(("_svg", "_export", "_pdf", "_template", "_file", "_job", "_pick")):
            continue
        for method, url, allowed in lines:
            if method == "GET" and principal in allowed and not url.endswith((".zip", ".xlsx", ".csv", ".svg")):
                yield url


def problems_in(lines: list[str], lang: str) -> list[str]:
    found = []
    for line in lines:
        checks = [PERIOD_KEY, SNAKE, REPR] + ([ENGLISH_WORDS, DOT_DECIMAL] if lang == "vi" else [VI_PERIOD])
        for pattern in checks:
            m = pattern.search(line)
            if m:
                found.append(f"“{m.group(0)}” in: {line[:160]}")
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("principal", list(DEMO))
def test_every_page_speaks_the_users_language(app, world, principal, lang):  # noqa: F811 — the imported fixture
    from app.extensions import db
    from app.models import User
    from app.services import sessions

    client = app.test_client()
    user = sessions.start(user=db.session.get(User, world["ids"][principal]))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    client.get(f"/lang/{lang}")
    report = {}
    for url in _pages(principal):
        response = client.get(_url(world, url))
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        for problem in problems_in(visible(response.get_data(as_text=True), lang), lang):
            report.setdefault(url, []).append(problem)
    assert not report, "\n".join(f"{url}:\n  " + "\n  ".join(sorted(set(p))[:15]) for url, p in report.items())


def test_every_kind_of_background_job_has_a_name_in_both_languages(app):
    from app.services import jobs
    from app.web.labels import LABELS

    named = LABELS["job_kind"]
    assert set(jobs.HANDLERS) - {"flaky"} <= set(named), "job kinds the admin's job list would show by their code"
