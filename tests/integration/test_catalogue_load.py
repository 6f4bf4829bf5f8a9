"""Loading the catalogue: idempotent, versioned, all-or-nothing."""
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Indicator, Regime, RegimeVersion
from app.services import catalogue
from app.services.errors import Invalid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path):
    for name in ("indicators", "report_templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def counts():
    return (db.session.scalar(select(func.count(Regime.id))), db.session.scalar(select(func.count(RegimeVersion.id))),
            db.session.scalar(select(func.count(Indicator.id))))


def test_loading_twice_changes_nothing(app, tree):
    before = counts()
    summary = catalogue.load_catalogue(root=tree)
    assert summary.versions_created == [] and summary.regimes_created == [] and len(summary.unchanged) == 3
    assert counts() == before


def test_changing_a_regime_creates_a_new_version_and_keeps_the_old_one(app, tree):
    path = tree / "report_templates" / "BCT-BANLE" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("day: 20}", "day: 21}"), encoding="utf-8")
    summary = catalogue.load_catalogue(root=tree)
    assert summary.versions_created == ["BCT-BANLE"]
    regime = catalogue.get_regime(code="BCT-BANLE")
    assert [v.version for v in regime.versions] == [1, 2]
    old, _ = catalogue.regime_definition(regime.versions[0])
    new, _ = catalogue.regime_definition(regime.versions[1])
    assert old.tiers[1].deadline.day == 20 and new.tiers[1].deadline.day == 21


def test_changing_an_indicator_makes_a_new_version_of_regimes_that_use_it(app, tree):
    path = tree / "indicators" / "noi-vu.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max: 70", "max: 75"), encoding="utf-8")
    summary = catalogue.load_catalogue(root=tree)
    assert summary.versions_created == ["BNV-CBCC"] and summary.indicators_updated == 1
    first = catalogue.get_regime(code="BNV-CBCC").versions[0]
    _, cat = catalogue.regime_definition(first)
    assert cat.indicators["CBCC_TUOI_BQ"].max == 70  # the past version keeps what it was made with


def test_a_malformed_file_changes_nothing_and_names_file_and_line(app, tree):
    before = counts()
    (tree / "indicators" / "noi-vu.yaml").write_text("indicators:\n  - code: [oops\n", encoding="utf-8")
    path = tree / "report_templates" / "BCT-BANLE" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("day: 20}", "day: 21}"), encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        catalogue.load_catalogue(root=tree)
    assert any(p.file == "indicators/noi-vu.yaml" and p.line for p in exc.value.problems)
    assert counts() == before


def test_check_refuses_an_unknown_agency_code(app, tree):
    path = tree / "report_templates" / "BCT-BANLE" / "regime.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("receiver: BCT", "receiver: BOGUS"), encoding="utf-8")
    _, problems = catalogue.check_catalogue(root=tree)
    assert [p.message for p in problems if "BOGUS" in p.message]


def test_which_regimes_use_an_indicator(app):
    assert [r.code for r in catalogue.regimes_using(indicator_code="TTHC_DAGQ_TONG")] == ["VPCP-TTHC"]
    assert catalogue.regimes_using(indicator_code="NOPE") == []


def test_cli_check_reports_problems_and_exits_nonzero(runner, tree):
    (tree / "indicators" / "bad.yaml").write_text("indicators:\n  - code: lower\n    name_vi: x\n    unit: y\n", encoding="utf-8")
    result = runner.invoke(args=["catalogue", "check", "--root", str(tree)])
    assert result.exit_code == 1
    assert "indicators/bad.yaml:2" in result.output


def test_cli_check_on_the_shipped_catalogue_is_clean(runner):
    result = runner.invoke(args=["catalogue", "check"])
    assert result.exit_code == 0, result.output
    assert "3 chế độ báo cáo" in result.output
