"""Commands beside app/cli.py: `flask catalogue import-form` (a form a ministry already publishes →
catalogue files for review in git, matched against the library in the same files) and `flask jobs`
(background jobs: list, retry, probe, run a worker), `flask aggregate quality` (the outlier pass's kept features) and `flask mail sink` (the demo's local mail sink)."""
from __future__ import annotations

import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .cli import _Bar, _root, aggregate_cli, catalogue_cli
from .extensions import reads_only


@catalogue_cli.command("import-form")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--regime", "regime_code", required=True, help="The regime the form belongs to (report_templates/CODE/).")
@click.option("--table", type=int, default=None, help="Which table of the file (1, 2 …) when it holds several.")
@click.option("--root", type=click.Path(file_okay=False), help="Folder holding report_templates/ and indicators/.")
@click.option("--dry-run", is_flag=True, help="Show the proposal; write nothing.")
def import_form(file, regime_code, table, root, dry_run):
    """Propose a form from FILE (.docx, .xlsx) and write it as catalogue files."""
    from .adapters.catalogue_files import dump_yaml, read_catalogue_tree
    from .adapters.form_files import FormFileRefused, read_tables
    from .domain import form_import as rules
    from .domain.catalogue_build import build_catalogue
    from .services.form_import import prefix_for

    base = _root(root)
    path = Path(file)
    try:
        tables = read_tables(path.read_bytes(), path.name)
    except FormFileRefused as exc:
        raise click.ClickException(str(exc)) from None
    if len(tables) > 1 and table is None:
        for n, t in enumerate(tables, 1):
            click.echo(f"  {n}. {t.name}: {' · '.join(t.caption) or '—'} ({len(t.rows)} dòng)")
        raise click.ClickException(f"Tệp có {len(tables)} bảng: chọn một bằng --table N")
    chosen = tables[(table or 1) - 1] if 0 < (table or 1) <= len(tables) else None
    if chosen is None:
        raise click.ClickException(f"Không có bảng số {table} (tệp có {len(tables)} bảng)")
    problems: list = []
    cat, _ = build_catalogue(*read_catalogue_tree(base, problems))
    library, options = rules.library_from(cat)
    try:
        p = rules.propose(chosen, library, options, prefix=prefix_for(regime_code), taken=set(cat.indicators))
    except rules.FormNotRecognised as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{p.form_code} — {p.title}: {len(p.rows)} dòng; cột hệ thống: {', '.join(p.system_columns) or '—'}; "
               f"phân tổ: {p.breakdown or '—'}")
    for r in p.rows:
        pad = "  " * (r.depth + 1)
        match = f"= {r.indicator} ({r.matches[0].confidence:.0%})" if not r.new else f"+ {r.indicator} (mới)"
        flags = (" [trong đó]" if r.of_which else "") + (" [tổng các dòng dưới]" if r.subtotal else "")
        click.echo(f"{pad}{r.numbering} {r.label} ({r.unit or '—'}) {match}{flags}")
    for w in p.warnings:
        click.echo(f"  ! {w}", err=True)
    if dry_run:
        return
    form, new = rules.form_document(p)
    folder = base / "report_templates" / regime_code
    (folder / "forms").mkdir(parents=True, exist_ok=True)
    form_file = folder / "forms" / f"{p.form_code}.yaml"
    form_file.write_text(dump_yaml(form, f"{p.form_code} — nhập từ {path.name} (flask catalogue import-form); rà soát trước khi nạp"),
                         encoding="utf-8")
    click.echo(f"Đã ghi {form_file}")
    if new:
        ind_file = base / "indicators" / f"{regime_code.lower()}-{p.form_code.lower()}.yaml"
        ind_file.write_text(dump_yaml({"indicators": new}, f"Chỉ tiêu mới của {regime_code} {p.form_code} (nhập từ {path.name})"),
                            encoding="utf-8")
        click.echo(f"Đã ghi {ind_file} ({len(new)} chỉ tiêu mới)")
    regime_file = folder / "regime.yaml"
    if regime_file.exists():
        text = regime_file.read_text(encoding="utf-8")
        m = re.search(r"^forms:\s*\[([^\]]*)\]", text, re.M)
        if m and p.form_code not in [c.strip() for c in m.group(1).split(",")]:
            listed = ", ".join([c.strip() for c in m.group(1).split(",") if c.strip()] + [p.form_code])
            regime_file.write_text(text[:m.start()] + f"forms: [{listed}]" + text[m.end():], encoding="utf-8")
            click.echo(f"Đã thêm {p.form_code} vào forms của {regime_file}")
        elif not m:
            click.echo(f"Hãy thêm {p.form_code} vào “forms” của {regime_file}", err=True)
    else:
        click.echo(f"Chưa có {regime_file}: hãy soạn chế độ (các yếu tố theo Điều 7) rồi liệt kê {p.form_code} trong “forms”", err=True)
    click.echo("Kiểm tra: flask catalogue check")


# ------------------------------------------------------------------------------------- flask jobs
jobs_cli = AppGroup("jobs", help="Background jobs: list, retry, run a worker.")


@jobs_cli.command("list")
@click.option("--status", type=click.Choice(["", "queued", "running", "done", "failed"]), default="")
@reads_only
def jobs_list(status):
    """Queued, running, done and failed jobs, newest first."""
    from .services import jobs

    items = jobs.listing(status=status)
    for j in items:
        click.echo(f"{j.id:>6} {j.kind:<8} {j.status:<8} lần {j.attempts}/{j.max_attempts} {j.worker or '—':<24} {j.step[:60]}"
                   + (f" — {j.error[:80]}" if j.error and j.status != "done" else ""))
    click.echo(f"{len(items)} việc")


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id):
    """Send a failed (or stuck) job round again."""
    from .services import jobs
    from .services.errors import NotFound

    try:
        job = jobs.retry(job_id=job_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Việc {job.id} ({job.kind}): {job.status}")


@jobs_cli.command("probe")
@click.option("--seconds", type=float, default=1.0, help="How long the job waits before it finishes.")
@click.option("--log", "log_path", default="", help="A file the job appends one line to when it finishes.")
@click.option("--fail", is_flag=True, help="Make the job fail (to see retries and the reason).")
@click.option("--count", type=click.IntRange(1, 1000), default=1, help="How many such jobs (one id per line).")
def jobs_probe(seconds, log_path, fail, count):
    """Enqueue harmless jobs: checks that workers take jobs (and, with --log, that each is done once)."""
    import uuid

    from .extensions import db
    from .services import jobs

    made = [jobs.enqueue(kind="probe", args={"seconds": seconds, "log": log_path, "fail": fail, "nonce": uuid.uuid4().hex})
            for _ in range(count)]
    db.session.commit()
    for job in made:
        click.echo(job.id)


@jobs_cli.command("worker")
@click.option("--concurrency", type=int, default=1, help="Jobs at once in this process.")
@click.option("--stalled-after", type=float, default=30.0, help="Seconds without a worker's heartbeat before its jobs are retried.")
@click.option("--heartbeat", type=float, default=5.0, help="Seconds between this worker's heartbeats.")
def jobs_worker(concurrency, stalled_after, heartbeat):
    """Run jobs (PostgreSQL: procrastinate). Start one or more per machine; SIGTERM finishes the job in hand."""
    from flask import current_app

    from .extensions import db

    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("Trên SQLite các việc chạy ngay trong tiến trình web và bộ lập lịch; không cần worker")
    from .adapters import pdf_render, queue
    from .services import mail_delivery

    pdf_render.warm(current_app.config["PDF_PROCESSES"])  # the PDF renderers started before the first long report
    mail_delivery.warm()  # and the MAIL_CONNECTIONS deliverers before the first burst of mail
    click.echo(f"Worker {__import__('os').getpid()}: đang chờ việc (Ctrl+C để dừng)")
    queue.worker(current_app._get_current_object(), concurrency=concurrency, stalled_after=stalled_after, heartbeat=heartbeat)


# ------------------------------------------------------------------------- flask aggregate quality
@aggregate_cli.command("quality")
@click.option("--regime", required=True, help="The regime whose approved values' features to compute.")
@click.option("--period", "periods", multiple=True, help="Only these period keys (repeat the option).")
def aggregate_quality(regime, periods):
    """Keep every approved value's features against its own history (the outlier pass then reads
    only its period). Approvals keep them as they come; run this once for reports approved before."""
    from .services import quality_store
    from .services.errors import NotFound

    with _Bar("Đang tính đặc trưng số liệu") as bar:
        try:
            n = quality_store.rebuild(regime=regime, periods=list(periods) or None, progress=bar)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Đã lưu đặc trưng của {n:,} giá trị".replace(",", ".") + f" — chế độ {regime}.")


mail_cli = AppGroup("mail", help="The demo's local mail sink.")


@mail_cli.command("sink")
@click.option("--port", default=2525, show_default=True)
def mail_sink(port):
    """A local SMTP server keeping every message in MAIL_SINK_DIR (the demo; shown on /admin/mail). Blocks."""
    import os

    from .adapters import mailsink

    if os.environ.get("BAOCAO_ENV") == "production":
        raise click.ClickException("Không chạy hộp thư trình diễn trên hệ thống thật (BAOCAO_ENV=production)")
    folder = current_app.config.get("MAIL_SINK_DIR") or str(Path(current_app.config["INSTANCE_DIR"]) / "mail-sink")
    click.echo(f"Hộp thư trình diễn: smtp://127.0.0.1:{port} → {folder}")
    mailsink.serve(Path(folder), port=port)
