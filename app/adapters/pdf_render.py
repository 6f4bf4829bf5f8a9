"""PDF rendering with WeasyPrint, in parts: a long report is laid out as several HTML documents
(the report itself, then its appendices in slices) that render side by side in worker processes,
each kept by the hash of its HTML so an unchanged appendix is laid out once; the parts are joined
with pypdf, every page with its number ("N/M") and the document's footer line stamped from an
overlay rendered by WeasyPrint too (text stays text, in the document's font).

No Flask here: the callers pass the directory of kept parts and the number of processes."""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

FONT = '"Times New Roman", "Liberation Serif", serif'
# where the number and the footer line sit: the bottom margin of the report's pages (20 mm,
# Decree 30/2020's A4 margins in report_templates/_pdf/base.html)
BOTTOM_MARGIN = "20mm 15mm 20mm 30mm"

_pool: Executor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def render_one(html: str, base_url: str | None = None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


def _executor(processes: int) -> Executor:
    """The renderers: `processes` worker processes, started once per process that renders
    (spawned, not forked: the caller may be a threaded web or job worker)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
            _pool_size = processes
        return _pool


def _ready() -> bool:
    import weasyprint  # noqa: F401 — imported once per renderer, before the first report

    return True


def warm(processes: int) -> None:
    """Start the renderers now (a job worker does at start), so the first long report does not
    wait for them."""
    if processes > 1:
        pool = _executor(processes)
        for f in [pool.submit(_ready) for _ in range(processes)]:
            f.result()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def _key(html: str) -> str:
    import weasyprint

    return hashlib.sha256(f"{weasyprint.__version__}\n{html}".encode()).hexdigest()


def render_parts(parts: Sequence[str], *, base_url: str | None, cache_dir: Path | None, processes: int = 1) -> tuple[list[bytes], int]:
    """Each part's PDF, in order, and how many had to be laid out (the others were kept). Parts not
    kept are rendered on `processes` processes, the longest first; with one process (or one part)
    they are rendered here."""
    out: list[bytes | None] = [None] * len(parts)
    keys = [_key(h) for h in parts]
    todo = []
    for i, key in enumerate(keys):
        path = cache_dir / f"{key}.pdf" if cache_dir else None
        if path is not None and path.exists():
            out[i] = path.read_bytes()
        else:
            todo.append(i)
    if len(todo) > 1 and processes > 1:
        todo_sorted = sorted(todo, key=lambda i: -len(parts[i]))
        pool = _executor(processes)
        futures = {i: pool.submit(render_one, parts[i], base_url) for i in todo_sorted}
        for i, fut in futures.items():
            out[i] = fut.result()
    else:
        for i in todo:
            out[i] = render_one(parts[i], base_url)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for i in todo:
            tmp = cache_dir / f"{keys[i]}.tmp"
            tmp.write_bytes(out[i])
            tmp.replace(cache_dir / f"{keys[i]}.pdf")
    return [b for b in out if b is not None], len(todo)


def css_string(text: str) -> str:
    """`text` inside a CSS string in a <style> element: quotes and backslashes escaped, and any
    character that could end the element or the line written as a CSS escape."""
    return "".join(f"\\{ord(c):x} " if c in '"\\<>&\n\r' or ord(c) < 32 else c for c in text)


def _overlay_html(sizes: list[tuple[float, float]], footer: str, first: int, total: int) -> str:
    """One page per page to stamp, each empty but for its number (`first`, first + 1, … of `total`)
    at the bottom centre and the footer line at the bottom left, in the page's size."""
    foot = css_string(footer)
    rules, pages = [], []
    for k, (w, h) in enumerate(sizes):
        rules.append(f"@page p{k} {{ size: {w:.2f}pt {h:.2f}pt; margin: {BOTTOM_MARGIN};"
                     f" @bottom-center {{ content: \"{first + k}/{total}\"; font-family: {FONT}; font-size: 11pt; }}"
                     f" @bottom-left {{ content: \"{foot}\"; font-family: {FONT}; font-size: 7pt; color: #555; }} }}")
        pages.append(f'<div style="page: p{k}"></div>')
    return f"<!doctype html><html><head><meta charset='utf-8'><style>{''.join(rules)}</style></head><body>{''.join(pages)}</body></html>"


def stamp(data: bytes, *, first: int, total: int, footer: str) -> bytes:
    """A part's pages with their numbers and the footer line (in a worker process, like the render)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in writer.pages]
    overlay = PdfReader(io.BytesIO(render_one(_overlay_html(sizes, footer, first, total))))
    for page, mark in zip(writer.pages, overlay.pages, strict=True):
        page.merge_page(mark)
        page.compress_content_streams()  # the merged page content is written uncompressed otherwise (7× larger)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def document(parts: Sequence[str], *, footer: str, base_url: str | None = None, cache_dir: Path | None = None,
             processes: int = 1) -> tuple[bytes, int]:
    """The PDF of a document made of `parts` (HTML), and how many parts were laid out anew: the
    parts laid out (or taken as kept), then each stamped with its page numbers — which depend on
    the pages before it — side by side again, then joined."""
    from pypdf import PdfReader, PdfWriter

    pdfs, rendered = render_parts(parts, base_url=base_url, cache_dir=cache_dir, processes=processes)
    counts = [_page_count(p) for p in pdfs]
    total, firsts = sum(counts), [1 + sum(counts[:i]) for i in range(len(counts))]
    if len(pdfs) > 1 and processes > 1:
        pool = _executor(processes)
        futures = [pool.submit(stamp, p, first=f, total=total, footer=footer) for p, f in zip(pdfs, firsts, strict=True)]
        stamped = [f.result() for f in futures]
    else:
        stamped = [stamp(p, first=f, total=total, footer=footer) for p, f in zip(pdfs, firsts, strict=True)]
    writer = PdfWriter()
    for data in stamped:
        writer.append(PdfReader(io.BytesIO(data)))
    first_meta = PdfReader(io.BytesIO(pdfs[0])).metadata or {}
    writer.add_metadata({k: v for k, v in first_meta.items() if isinstance(k, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), rendered
