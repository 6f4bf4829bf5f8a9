"""The designer imports a form from a Word file on the web: a file with two tables asks which one;
the review shows the original beside the proposal; an edited row and a merge are taken as edited;
accepting writes the form and its new indicators into the draft — nothing before; bad files and
bad rows are refused with the reason, and nothing is saved."""
from __future__ import annotations

import io
from html.parser import HTMLParser

from sqlalchemy import select

from app.extensions import db
from app.models import RegimeDraft
from tests.forms.corpus import build, forms


class Fields(HTMLParser):
    """The values a browser would post from the review form (inputs, checked boxes, selected options)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "radio"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.data.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self.select = a.get("name")
            self.first = None
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value", "")
            if "selected" in a:
                self.data[self.select] = [a.get("value", "")]

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            self.data.setdefault(self.select, [self.first or ""])
            self.select = None


def fields(html: str) -> dict[str, list[str]]:
    f = Fields()
    f.feed(html)
    return f.data


def corpus(name):
    return next(f for f in forms() if f.name == name)


def test_upload_pick_review_edit_accept(client, auth):
    auth.login("thietke.bct")
    assert client.get("/designer/BCT-BANLE/import-form").status_code == 200
    data, name = build(corpus("traffic-second-table-docx"))
    page = client.post("/designer/BCT-BANLE/import-form", data={"step": "upload", "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-testid="import-pick"' in page and "TAI NẠN GIAO THÔNG" in page
    state = fields(page)["state"][0]
    review = client.post("/designer/BCT-BANLE/import-form", data={"step": "pick", "state": state, "table": "1"}).get_data(as_text=True)
    assert 'data-testid="import-original"' in review and 'data-testid="import-rows"' in review
    assert db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == "BCT-BANLE")) is None or \
        "BIEU02" not in db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == "BCT-BANLE")).document["forms"]
    post = fields(review)
    assert post["label_1"] == ["Đường bộ"] and post["parent_1"] == ["0"]
    post["label_1"] = ["Đường bộ (kể cả đường cao tốc)"]  # the designer corrects a row
    post["keep_5"] = []  # and leaves one out
    del post["keep_5"]
    post["action"] = ["accept"]
    r = client.post("/designer/BCT-BANLE/import-form", data=post)
    assert r.status_code == 302 and r.headers["Location"].endswith("/designer/BCT-BANLE/forms/BIEU02")
    draft = db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == "BCT-BANLE"))
    form = draft.document["forms"]["BIEU02"]
    assert "BIEU02" in draft.document["regime"]["forms"]
    assert [row["row"] for row in form["rows"]] == ["1", "1.1", "1.2", "1.3", "2"]
    new = {d["code"]: d for d in draft.document["indicators"]}
    assert new[form["rows"][1]["indicator"]]["name_vi"] == "Đường bộ (kể cả đường cao tốc)"
    assert form["rows"][1]["parent"] == form["rows"][0]["indicator"]
    from app.services import designer

    check = designer.evaluate(draft)
    assert not [p for p in check.problems if "BIEU02" in str(p)], check.problems
    assert client.get("/designer/BCT-BANLE/preview").status_code == 200


def test_bad_files_and_bad_rows_are_refused_and_nothing_is_saved(client, auth):
    auth.login("thietke.bct")
    r = client.post("/designer/BCT-BANLE/import-form", data={"step": "upload", "file": (io.BytesIO(b"%PDF-1.4"), "bieu.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "Tệp PDF" in r.get_data(as_text=True)
    r = client.post("/designer/BCT-BANLE/import-form", data={"step": "upload"}, content_type="multipart/form-data")
    assert r.status_code == 422
    data, name = build(corpus("labour-ofwhich-xlsx"))
    review = client.post("/designer/BCT-BANLE/import-form", data={"step": "upload", "file": (io.BytesIO(data), name)},
                         content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-testid="import-warnings"' in review  # the parent that does not add up
    post = fields(review)
    post["ind_2"], post["code_2"] = ["new"], ["BL_TONG"]  # a new indicator under a code the library has
    post["label_3"] = [""]
    post["action"] = ["accept"]
    r = client.post("/designer/BCT-BANLE/import-form", data=post)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "BL_TONG đã là một chỉ tiêu" in page and "cần tên chỉ tiêu" in page
    assert 'data-testid="import-rows"' in page  # the review again, with what was typed
    draft = db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == "BCT-BANLE"))
    assert draft is None or not any(c.startswith("BIEU06") for c in draft.document["forms"])
    r = client.post("/designer/BCT-BANLE/import-form", data={"step": "pick", "state": "[not json", "table": "0"})
    assert r.status_code == 422


def test_split_and_merge(client, auth):
    auth.login("thietke.bct")
    data, name = build(corpus("trade-notes-xlsx"))
    review = client.post("/designer/BCT-BANLE/import-form", data={"step": "upload", "file": (io.BytesIO(data), name)},
                         content_type="multipart/form-data").get_data(as_text=True)
    post = fields(review)
    n = int(post["rows"][0])
    post["action"] = ["split:1"]
    again = client.post("/designer/BCT-BANLE/import-form", data=post).get_data(as_text=True)
    post = fields(again)
    assert int(post["rows"][0]) == n + 1 and post["label_2"] == post["label_1"]
    post["label_1"], post["label_2"] = ["Hàng nông sản"], ["và lâm sản"]
    post["merge_2"] = ["1"]  # … then merged back: the name broken over two rows
    post["action"] = ["accept"]
    assert client.post("/designer/BCT-BANLE/import-form", data=post).status_code == 302
    draft = db.session.scalar(select(RegimeDraft).where(RegimeDraft.regime_code == "BCT-BANLE"))
    form = next(f for c, f in draft.document["forms"].items() if c.startswith("BIEU07"))
    names = {d["code"]: d["name_vi"] for d in draft.document["indicators"]}
    assert len(form["rows"]) == n and names[form["rows"][1]["indicator"]] == "Hàng nông sản và lâm sản"


def test_only_the_regimes_designer_may_import(client, auth):
    auth.login("canbo.sct")
    assert client.get("/designer/BCT-BANLE/import-form").status_code in (302, 403)


def test_the_cli_writes_catalogue_files_that_check(runner, tmp_path):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for d in ("report_templates", "indicators"):
        shutil.copytree(root / d, tmp_path / d)
    data, name = build(corpus("traffic-second-table-docx"))
    path = tmp_path / name
    path.write_bytes(data)
    r = runner.invoke(args=["catalogue", "import-form", str(path), "--regime", "BCT-BANLE", "--root", str(tmp_path)])
    assert r.exit_code == 1 and "chọn một bằng --table" in r.output  # two tables: which one?
    r = runner.invoke(args=["catalogue", "import-form", str(path), "--regime", "BCT-BANLE", "--root", str(tmp_path), "--table", "2",
                            "--dry-run"])
    assert r.exit_code == 0 and "1.1 Đường bộ" in r.output and not (tmp_path / "report_templates/BCT-BANLE/forms/BIEU02.yaml").exists()
    r = runner.invoke(args=["catalogue", "import-form", str(path), "--regime", "BCT-BANLE", "--root", str(tmp_path), "--table", "2"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "report_templates/BCT-BANLE/forms/BIEU02.yaml").exists()
    assert "BIEU02" in (tmp_path / "report_templates/BCT-BANLE/regime.yaml").read_text(encoding="utf-8")
    r = runner.invoke(args=["catalogue", "check", "--root", str(tmp_path)])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.7")
    r = runner.invoke(args=["catalogue", "import-form", str(bad), "--regime", "BCT-BANLE", "--root", str(tmp_path)])
    assert r.exit_code == 1 and "Tệp PDF" in r.output
