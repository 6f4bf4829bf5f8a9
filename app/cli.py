"""flask commands: catalogue, agencies, users, seed. Each parses, calls a service, reports."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db, reads_only
from .services import agencies as agency_svc
from .services import catalogue as catalogue_svc
from .services import users as user_svc
from .services.errors import Invalid, NotFound

catalogue_cli = AppGroup("catalogue", help="Check and load report_templates/ and indicators/.")
agencies_cli = AppGroup("agencies", help="The agency map.")
users_cli = AppGroup("users", help="Accounts and API tokens.")
seed_cli = AppGroup("seed", help="Demo data.")


def _root(root: str | None) -> Path:
    return Path(root or current_app.config["CATALOGUE_ROOT"])


def _print_problems(problems) -> None:
    for p in problems:
        click.echo(f"  ✗ {p}", err=True)


class _Bar:
    """A click progress bar driven by a service's progress(done, total) callback."""

    def __init__(self, label: str):
        self.label, self.bar, self.done = label, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, show_pos=True, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


@catalogue_cli.command("check")
@click.option("--root", type=click.Path(file_okay=False), help="Folder holding report_templates/ and indicators/.")
def catalogue_check(root):
    """Validate every catalogue file; report each problem with file and line; write nothing."""
    catalogue, problems = catalogue_svc.check_catalogue(root=_root(root))
    if problems:
        click.echo(f"{len(problems)} lỗi trong danh mục:", err=True)
        _print_problems(problems)
        raise SystemExit(1)
    click.echo(f"OK: {len(catalogue.regimes)} chế độ báo cáo, {len(catalogue.indicators)} chỉ tiêu, "
               f"{len(catalogue.disaggregations)} phân tổ.")


@catalogue_cli.command("transfer")
@click.argument("code")
@click.option("--to", "to_agency", required=True, help="Code of the agency that issues the regime from now on.")
def catalogue_transfer(code, to_agency):
    """Move a regime to another issuing agency (an administrator's act, recorded in the audit log)."""
    try:
        regime = catalogue_svc.transfer_regime(code=code, to_agency=to_agency)
    except (Invalid, NotFound) as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    click.echo(f"{regime.code}: cơ quan ban hành từ nay là {regime.issuing_agency_code}.")


@catalogue_cli.command("load")
@click.option("--root", type=click.Path(file_okay=False))
def catalogue_load(root):
    """Validate, then upsert idempotently; a changed regime gets a new version."""
    try:
        with _Bar("Đang nạp danh mục") as bar:
            summary = catalogue_svc.load_catalogue(root=_root(root), progress=bar)
    except Invalid as exc:
        click.echo(str(exc), err=True)
        _print_problems(exc.problems)
        raise SystemExit(1) from None
    click.echo(f"Chỉ tiêu: {summary.indicators_created} mới, {summary.indicators_updated} cập nhật. "
               f"Chế độ: {len(summary.regimes_created)} mới {summary.regimes_created or ''}, "
               f"{len(summary.versions_created)} phiên bản mới {summary.versions_created or ''}, "
               f"{len(summary.unchanged)} không đổi.")


@agencies_cli.command("load")
def agencies_load():
    """Build the agency map: Government, ministries, 63 → 34 provinces, 3,321 communes, lineage."""
    with _Bar("Đang nạp danh mục cơ quan") as bar:
        summary = agency_svc.load_agencies(progress=bar)
    levels = ", ".join(f"{k}: {v}" for k, v in sorted(summary.by_level.items()))
    click.echo(f"Cơ quan: {summary.created} mới, {summary.updated} cập nhật ({levels}); "
               f"liên kết cấp trên: {summary.links_created} mới; kế thừa: {summary.lineage_created} mới.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", required=True, type=click.Choice(["reporter", "approver", "designer", "analyst", "admin"]))
@click.option("--agency", "agency_code", required=True, help="Agency code, e.g. T01.SCT")
@click.option("--email")
@click.password_option()
def users_create(username, full_name, role, agency_code, email, password):
    """Create an account."""
    try:
        user = user_svc.create_user(username=username, password=password, full_name=full_name, role=role,
                                    agency_code=agency_code, email=email)
    except Invalid as exc:
        click.echo(str(exc), err=True)
        for p in exc.problems:
            click.echo(f"  ✗ {p.where}: {p.message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Đã tạo tài khoản {user.username} ({role}, {agency_code}).")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
def users_token(username, name):
    """Issue an API bearer token for USERNAME (printed once)."""
    from sqlalchemy import select

    from .extensions import db
    from .models import User

    user = db.session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        click.echo(f"Không có tài khoản “{username}”.", err=True)
        raise SystemExit(1)
    click.echo(user_svc.issue_token(user=user, name=name))


@seed_cli.command("demo")
@click.option("--no-history", is_flag=True, help="Skip the past reports that fill the reporting center.")
def seed_demo(no_history):
    """Agency map + catalogue + one demo account per role + approved past reports (idempotent)."""
    from .services.seed import DEMO_PASSWORD
    from .services.seed import seed_demo as run

    ctx = click.get_current_context()
    ctx.invoke(agencies_load)
    ctx.invoke(catalogue_load)
    created = run()
    click.echo(f"Tài khoản demo: {', '.join(created) or 'đã có'} — mật khẩu: {DEMO_PASSWORD}")
    if not no_history:
        ctx.invoke(seed_history_cmd)
        from .services.seed import demo_story

        for line in demo_story():
            click.echo(f"Tình huống trình diễn: {line}.")




reminders_cli = AppGroup("reminders", help="Deadline reminders: send what is due, deliver queued mail.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process (reminders, mail delivery).")


def _instant(value: str | None):
    from datetime import datetime

    from .domain.deadlines import VN_TZ

    if not value:
        return datetime.now(VN_TZ)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("dùng dạng ISO 8601, ví dụ 2026-11-19T08:00:00+07:00") from None
    return at if at.tzinfo else at.replace(tzinfo=VN_TZ)


@reminders_cli.command("send")
@click.option("--at", "at", help="The instant to act at (ISO 8601; no offset = Asia/Ho_Chi_Minh). Default: now.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write and send nothing.")
@click.option("--no-deliver", is_flag=True, help="Queue only; leave delivery to the scheduler.")
def reminders_send(at, dry_run, no_deliver):
    """Send the reminders and digests due at --at (the same service the scheduler runs)."""
    from .services import reminders as svc

    instant = _instant(at)
    result = svc.send(now=instant, dry_run=dry_run)
    for p in result.planned:
        to = ", ".join(e or f"(không có thư điện tử: {n})" for _, e, n in p.recipients) or "(không có người nhận)"
        click.echo(f"  {'↪' if dry_run else '✉'} {p.kind} {p.regime} {p.period} {p.agency} bước {p.step:+d} → {to}")
    if dry_run:
        click.echo(f"Chạy thử lúc {instant.isoformat()}: {len(result.reminders)} nhắc hạn, {len(result.digests)} thư tổng hợp; "
                   "không gửi gì.")
        return
    click.echo(f"{instant.isoformat()}: {result.claimed} mục mới, {result.messages} thư, {result.notifications} thông báo"
               + (f", {result.certificates} chứng thư số sắp hết hạn đã báo." if result.certificates else "."))
    if not no_deliver:
        delivered = svc.deliver(now=instant)
        click.echo(f"Gửi thư: {delivered.sent} đã gửi, {delivered.retried} sẽ thử lại, {delivered.failed} thất bại.")


@reminders_cli.command("deliver")
@click.option("--background", is_flag=True, help="Queue a mail job for the job workers instead.")
def reminders_deliver(background):
    """Deliver queued mail now (retries whose back-off has passed)."""
    from .services import reminders as svc

    if background:
        job = svc.wake(due_only=True)
        db.session.commit()
        click.echo(f"Đã xếp việc gửi thư số {job.id}." if job is not None else "Không có thư đến lượt gửi (hoặc đã có việc gửi thư đang chờ).")
        return
    delivered = svc.deliver()
    click.echo(f"Gửi thư: {delivered.sent} đã gửi, {delivered.retried} sẽ thử lại, {delivered.failed} thất bại.")


@scheduler_cli.command("run")
@click.option("--run-now", is_flag=True, help="Run every job once at start-up, then on schedule.")
def scheduler_run(run_now):
    """Start the scheduler process (blocks). Run it beside gunicorn; see docs/operations.md."""
    import logging

    from . import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sched = scheduler.build(current_app.config["SQLALCHEMY_DATABASE_URI"], run_now=run_now)
    if not current_app.config.get("MAIL_JOBS", True):
        from .services import mail_delivery

        mail_delivery.warm()  # it delivers itself: its MAIL_CONNECTIONS deliverers started before the first burst
    click.echo(f"Scheduler: {', '.join(scheduler.JOBS)} (Ctrl+C để dừng)")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass


aggregate_cli = AppGroup("aggregate", help="The reporting center's aggregates.")


@aggregate_cli.command("rebuild")
@click.option("--regime", help="Only this regime.")
@click.option("--period", help="Only this period key.")
@click.option("--all", "all_", is_flag=True, help="Every regime and period.")
@click.option("--background", is_flag=True, help="As a background job (any worker); follow it with `flask jobs list`.")
def aggregate_rebuild(regime, period, all_, background):
    """Recompute which versions count and every aggregate from the raw values (idempotent)."""
    from .services import aggregation_rebuild

    if not (regime or period or all_):
        raise click.UsageError("chọn --regime/--period hoặc --all")
    if background:
        from .extensions import db
        from .services import jobs

        job = jobs.enqueue(kind="rebuild", args={"regime": regime, "period": period})
        db.session.commit()
        click.echo(f"Đã xếp việc tổng hợp lại số {job.id} ({job.status}); xem: flask jobs list")
        return
    with _Bar("Đang tổng hợp lại") as bar:
        summary = aggregation_rebuild.rebuild(regime=regime, period=period, progress=bar)
    click.echo(f"Đã tổng hợp lại {summary.scopes} (chế độ, kỳ): {summary.records} bản ghi số liệu, {summary.aggregates} dòng tổng hợp; "
               f"{summary.written} dòng khác với đã lưu được ghi lại.")


@seed_cli.command("history")
def seed_history_cmd():
    """Approved demo reports over past periods (for the reporting center), idempotent."""
    from .models import User
    from .services import history

    admin = db.session.scalar(select(User).where(User.username == "quantri"))
    if admin is None:
        raise click.UsageError("chạy flask seed demo trước (cần tài khoản quantri)")
    counts = history.seed_history(actor=admin)
    click.echo(f"Số liệu lịch sử: {sum(counts.values())} báo cáo mới trong {len(counts)} kỳ.")


export_cli = AppGroup("export", help="Consolidated reports and data files.")


@export_cli.command("pdf")
@click.option("--regime", required=True)
@click.option("--period", required=True)
@click.option("--agency", default="CP", show_default=True, help="CP for the nation, a province or an agency code.")
@click.option("--units", type=click.Choice(["as_reported", "current"]), default="as_reported", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "csv"]), default="pdf", show_default=True)
@reads_only
def export_pdf(regime, period, agency, units, out, fmt):
    """Write the consolidated report (or its data) for (regime, period, agency) to --out."""
    import time

    from .domain.numbers import format_vn
    from .models import Role, User
    from .services import exports

    readers = db.session.scalars(select(User).where(User.role.in_([Role.ANALYST.value, Role.ADMIN.value]), User.active.is_(True))
                                 .order_by(User.id)).all()
    reader = next((u for u in readers if u.agency.level in ("central", "ministry")), None)
    if reader is None:
        raise click.UsageError("cần một tài khoản quản trị (flask seed demo hoặc flask users create)")
    with click.progressbar(length=2, label="Đang lập báo cáo", file=sys.stderr) as bar:
        start = time.perf_counter()
        if fmt == "pdf":
            data, _name, cached = exports.pdf(user=reader, regime=regime, period=period, agency=agency, units=units)
        elif fmt == "xlsx":
            (data, _name), cached = exports.xlsx_bytes(user=reader, regime=regime, period=period, agency=agency, units=units), False
        else:
            (data, _name), cached = exports.csv_bytes(user=reader, regime=regime, period=period, agency=agency, units=units), False
        bar.update(1)
        Path(out).write_bytes(data)
        bar.update(1)
    click.echo(f"Đã ghi {out}: {format_vn(len(data))} byte trong {format_vn(time.perf_counter() - start, 2)} giây{' (dùng lại bản đã lập)' if cached else ''}.")


backup_cli = AppGroup("backup", help="Back up and restore the database and generated files.")


@backup_cli.command("create")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Directory to write the backup into.")
def backup_create(out):
    """A consistent copy of the database (pg_dump / SQLite backup) and of instance/ files, with a manifest."""
    from .services import backup

    steps = ["database", "files", "manifest"]
    with click.progressbar(length=len(steps), label="Đang sao lưu", file=sys.stderr) as bar:
        try:
            path = backup.create(url=current_app.config["SQLALCHEMY_DATABASE_URI"], instance=Path(current_app.config["INSTANCE_DIR"]),
                                 out=Path(out), progress=lambda step: bar.update(1))
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
    manifest = backup.read_manifest(path)
    click.echo(f"Đã sao lưu vào {path}: {len(manifest.tables)} bảng, {sum(manifest.tables.values()):,} dòng, "
               f"{len(manifest.files)} tệp (phiên bản lược đồ {manifest.schema_revision}).")


@backup_cli.command("restore")
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False))
def backup_restore(backup_dir):
    """Restore a backup into the (empty) database of DATABASE_URL and the instance directory, then check every table."""
    from .services import backup

    db.engine.dispose()
    with click.progressbar(length=3, label="Đang khôi phục", file=sys.stderr) as bar:
        try:
            report = backup.restore(backup=Path(backup_dir), url=current_app.config["SQLALCHEMY_DATABASE_URI"],
                                    instance=Path(current_app.config["INSTANCE_DIR"]), progress=lambda step: bar.update(1))
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Đã khôi phục {len(report)} bảng, {sum(n for n, _ in report.values()):,} dòng — số dòng từng bảng khớp bản sao lưu.")


pki_cli = AppGroup("pki", help="Digital signatures: trust anchors, revocation lists, agencies' certificates, verification.")


def _pki_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (Invalid, NotFound) as exc:
        raise click.ClickException(str(exc)) from None


@pki_cli.command("trust")
@click.argument("action", type=click.Choice(["add"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def pki_trust(action, file):
    """Install a CA certificate (PEM or DER) as a trust anchor."""
    from .services import pki

    info = _pki_call(pki.add_trust_anchor, Path(file).read_bytes())
    click.echo(f"Đã cài chứng thư gốc tin cậy: {info.subject} (SHA-256 {info.fingerprint[:16]}…, hết hạn {info.not_after:%d/%m/%Y}).")


@pki_cli.command("crl")
@click.argument("action", type=click.Choice(["add"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def pki_crl(action, file):
    """Install a certificate revocation list (for networks that cannot reach the CA)."""
    from .services import pki

    n = _pki_call(pki.add_crl, Path(file).read_bytes())
    click.echo(f"Đã cài danh sách thu hồi ({n} chứng thư bị thu hồi).")


@pki_cli.command("keystore")
@click.argument("action", type=click.Choice(["add"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--agency", "agency_code", required=True)
@click.option("--password-env", default="BAOCAO_P12_PASSWORD", show_default=True, help="Environment variable holding the file's password.")
@click.option("--user", "username", default=None, help="The official (account of the agency) who holds this certificate.")
def pki_keystore(action, file, agency_code, password_env, username):
    """A PKCS#12 the server signs the agency's reports with (re-encrypted in instance/pki/keystores)."""
    import os

    from .services import pki

    row = _pki_call(pki.add_keystore, agency_code=agency_code, data=Path(file).read_bytes(),
                    password=os.environ.get(password_env, "").encode(), username=username)
    click.echo(f"{agency_code}: ký bằng chứng thư {row.subject} (số hiệu {row.serial}, hết hạn {row.not_after:%d/%m/%Y}).")


@pki_cli.command("token")
@click.argument("action", type=click.Choice(["link"]))
@click.option("--agency", "agency_code", required=True)
@click.option("--label", required=True, help="Label of the key and certificate on the token (PKI_PKCS11_LIB, _TOKEN, _PIN).")
@click.option("--user", "username", default=None, help="The official (account of the agency) who holds this certificate.")
def pki_token(action, agency_code, label, username):
    """The key labelled LABEL on the configured PKCS#11 token or HSM signs the agency's reports."""
    from .services import pki

    row = _pki_call(pki.link_token_key, agency_code=agency_code, label=label, username=username)
    click.echo(f"{agency_code}: ký bằng khóa “{label}” trên thiết bị ký số — {row.subject} (hết hạn {row.not_after:%d/%m/%Y}).")


@pki_cli.command("link")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--agency", "agency_code", required=True)
@click.option("--user", "username", default=None, help="The official (account of the agency) who holds this certificate.")
def pki_link(file, agency_code, username):
    """Link an official's or agency's certificate to the agency (signatures made with it count as the agency's)."""
    from .services import pki

    row = _pki_call(pki.link_certificate, agency_code=agency_code, data=Path(file).read_bytes(), username=username)
    click.echo(f"Đã gắn chứng thư {row.subject} với {agency_code}" + (f" (người giữ: {username})." if username else "."))


@pki_cli.command("remote")
@click.argument("action", type=click.Choice(["link"]))
@click.option("--agency", "agency_code", required=True)
@click.option("--credential", required=True, help="The credential's ID on the remote signing service (PKI_CSC_URL, _TOKEN, _PIN).")
@click.option("--user", "username", default=None, help="The official (account of the agency) who holds this certificate.")
def pki_remote(action, agency_code, credential, username):
    """A credential of the remote signing service (Cloud Signature Consortium API) signs the agency's (or the official's) reports."""
    from .services import pki

    row = _pki_call(pki.link_remote, agency_code=agency_code, credential=credential, username=username)
    click.echo(f"{agency_code}: ký từ xa bằng “{credential}” — {row.subject} (hết hạn {row.not_after:%d/%m/%Y}).")


@pki_cli.command("list")
@reads_only
def pki_list():
    """Every certificate linked to an agency or an official, the soonest to expire first."""
    from .extensions import db
    from .services import pki

    for row in db.session.scalars(pki.all_certificates()):
        state = "đã thôi dùng" if row.retired_at else f"hết hạn {row.not_after:%d/%m/%Y}"
        holder = f" · {row.user.username}" if row.user else ""
        click.echo(f"#{row.id} {row.agency.code}{holder} · {row.subject} · số hiệu {row.serial} · {state}")


@pki_cli.command("demo")
def pki_demo():
    """A demonstration CA and keystores for the demo agencies, so the demo's reports are signed (not for production)."""
    from .services import pki

    if current_app.config.get("ENV_NAME") == "production" or __import__("os").environ.get("BAOCAO_ENV") == "production":
        raise click.ClickException("Không tạo CA trình diễn trên hệ thống thật (BAOCAO_ENV=production)")
    done = pki.demo_pki()
    click.echo(f"CA trình diễn đã được tin cậy; ký số cho: {', '.join(done) or 'không có đơn vị mới'}.")


@pki_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--agency", "agency_code", default="", help="Also check that the signer belongs to this agency.")
def pki_verify(file, agency_code):
    """Verify every signature of a PDF; exit 1 when it is not valid."""
    from .services import pki, signing

    agency = _pki_call(pki.agency_by_code, agency_code) if agency_code else None
    verdict, checks = signing.verify_bytes(Path(file).read_bytes(), agency=agency)
    click.echo(verdict.message)
    for who in verdict.signers:
        click.echo(f"  - {who}")
    if not verdict.ok:
        raise SystemExit(1)


def init_app(app) -> None:
    from . import cli_more  # registers catalogue import-form; the jobs and mail groups

    for group in (catalogue_cli, agencies_cli, users_cli, seed_cli, reminders_cli, scheduler_cli, aggregate_cli, export_cli,
                  backup_cli, pki_cli, cli_more.jobs_cli, cli_more.mail_cli):
        app.cli.add_command(group)
