"""Review findings 5 and 6: separation of duties (nobody decides on a report of their own agency or
one they made), self-receiving tiers refused by the catalogue, ad hoc requests only to the issuer's
own subtree."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.domain.catalogue import Selector, Tier
from app.domain.catalogue_parse import receives_itself
from app.domain.hierarchy import Directory, Unit
from app.extensions import db
from app.models import Agency, Regime, ReportRequest, RequestTarget, SubmissionVersion, User
from app.services import catalogue as catalogue_svc
from app.services import decisions as decisions_svc
from app.services import requests as requests_svc
from app.services import sending as sending_svc
from app.services import submissions as svc
from app.services import users as user_svc
from app.services.errors import Forbidden, Invalid
from tests.helpers import retail_values

ON_TIME = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _raw(values: dict) -> dict:
    return {(code, ""): (str(v), False, "") for code, v in values.items()}


def _submitted(reporter: User, agency: str = "T01.SCT", period: str = "2026-M12"):
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code=agency, period_key=period, for_write=True)
    saved = svc.save(user=reporter, report=report, raw=_raw(retail_values()), outline={"I": "x"}, revision=None, now=ON_TIME)
    sending_svc.submit(user=reporter, submission_id=saved.submission.id, now=ON_TIME)
    return saved.submission


def test_an_approver_cannot_decide_on_a_report_they_made(app):
    sub = _submitted(_user("canbo.sct"))
    approver = _user("pheduyet.hn")
    # the same person once drafted it (e.g. an account whose role changed since)
    db.session.execute(update(SubmissionVersion).where(SubmissionVersion.submission_id == sub.id).values(created_by_id=approver.id))
    db.session.expire_all()
    assert not decisions_svc.can_decide(user=approver, submission=sub)
    with pytest.raises(Forbidden, match="tự duyệt"):
        decisions_svc.approve(user=approver, submission_id=sub.id)
    with pytest.raises(Forbidden):
        decisions_svc.return_(user=approver, submission_id=sub.id, reason="x")


def test_an_approver_cannot_decide_on_their_own_agencys_report(app):
    """A report of T01 received by T01 (stored so by an old request or a since-fixed regime)."""
    issuer = _user("pheduyet.hn")
    t01 = db.session.scalar(select(Agency).where(Agency.code == "T01"))
    regime = db.session.scalar(select(Regime).where(Regime.code == "BCT-BANLE"))
    req = ReportRequest(regime_id=regime.id, regime_version_id=regime.current_version.id, title="Tự gửi", content="",
                        issuer_agency_id=t01.id, issued_by_id=issuer.id, data_from=date(2026, 11, 1), data_to=date(2026, 11, 20),
                        deadline_at=datetime.now(UTC) + timedelta(days=5))
    req.targets = [RequestTarget(agency_id=t01.id)]
    db.session.add(req)
    db.session.flush()
    clerk = user_svc.create_user(username="canbo.ubnd", password="mot-mat-khau-du-dai-2026", full_name="Cán bộ UBND",
                                 role="reporter", agency_code="T01")
    sub = _submitted(clerk, agency="T01", period=f"YC{req.id}")
    assert sub.receiver_id == t01.id
    with pytest.raises(Forbidden, match="chính cơ quan mình"):
        decisions_svc.approve(user=issuer, submission_id=sub.id)


def test_a_tier_whose_receiver_is_one_of_its_reporters_is_refused():
    deadline = None
    assert receives_itself(Tier("x", Selector(agencies=("BCT",)), "BCT", deadline))
    assert receives_itself(Tier("x", Selector(levels=("department",)), "department:VP", deadline))
    assert not receives_itself(Tier("x", Selector(levels=("department",), except_department_kinds=("VP",)), "department:VP", deadline))
    assert receives_itself(Tier("x", Selector(levels=("ministry",)), "VPCP", deadline), "ministry")
    assert not receives_itself(Tier("x", Selector(levels=("ministry",), except_agencies=("VPCP",)), "VPCP", deadline), "ministry")
    assert not receives_itself(Tier("x", Selector(levels=("department",), department_kinds=("SCT",)), "province", deadline))
    # and the map never makes a unit its own receiver, whatever the catalogue says
    units = [Unit("T01", "Hà Nội", "province", None, "CP", "T01"), Unit("T01.VP", "VP", "department", "VP", "T01", "T01")]
    assert Directory(units).receiver_for(Tier("x", Selector(levels=("department",)), "department:VP", deadline), units[1]) is None


def test_catalogue_check_and_the_designer_refuse_a_self_receiving_regime(app, tmp_path):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tree = tmp_path / "cat"
    shutil.copytree(root / "indicators", tree / "indicators")
    shutil.copytree(root / "report_templates", tree / "report_templates")
    path = tree / "report_templates" / "VPCP-TTHC" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(", except_agencies: [VPCP]", ""), encoding="utf-8")
    _, problems = catalogue_svc.check_catalogue(root=tree)
    assert any("không ai được nhận và phê duyệt báo cáo của chính mình" in p.message for p in problems), problems
    _, shipped = catalogue_svc.check_catalogue(root=root)
    assert shipped == []

    from app.services import designer as designer_svc

    vpcp = user_svc.create_user(username="thietke.vpcp", password="mot-mat-khau-du-dai-2026", full_name="TK VPCP",
                                role="designer", agency_code="VPCP")
    draft = designer_svc.get_draft(user=vpcp, code="VPCP-TTHC", create=True)

    def drop_except(doc):
        doc["regime"]["tiers"][1]["reporters"].pop("except_agencies")

    designer_svc.update(user=vpcp, code="VPCP-TTHC", revision=draft.revision, change=drop_except)
    with pytest.raises(Invalid) as err:
        designer_svc.publish(user=vpcp, code="VPCP-TTHC")
    assert "chính mình" in str(err.value.details)


def test_ad_hoc_requests_reach_only_the_issuers_subtree(app):
    deadline = datetime.now(UTC) + timedelta(days=5)
    hn = _user("pheduyet.hn")
    kwargs = dict(regime_code="BCT-BANLE", title="Báo cáo nhanh", content="", deadline=deadline,
                  data_from=date(2026, 11, 1), data_to=date(2026, 11, 20))
    with pytest.raises(Invalid) as err:
        requests_svc.issue_request(user=hn, agency_codes=["T04.SCT", "T01", "BCT"], **kwargs)
    codes = {d["code"] for d in err.value.details}
    assert codes == {"out_of_scope", "own_agency"}
    req = requests_svc.issue_request(user=hn, agency_codes=["T01.SCT"], **kwargs)
    assert [t.agency.code for t in req.targets] == ["T01.SCT"]
    # a ministry reaches the agencies its own regime obliges, not those of another ministry's regime
    bct = _user("thietke.bct")
    assert requests_svc.issue_request(user=bct, agency_codes=["T04.SCT"], **kwargs).targets
    with pytest.raises(Invalid) as err:
        requests_svc.issue_request(user=bct, agency_codes=["T04.SNV"], **{**kwargs, "regime_code": "BNV-CBCC"})
    assert [d["code"] for d in err.value.details] == ["out_of_scope"]
