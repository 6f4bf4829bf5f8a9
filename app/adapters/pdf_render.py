"""PDF rendering with WeasyPrint, in parts: a long report is laid out as several HTML documents
(the report itself, then its appendices in slices) that render side by side in worker processes,
each kept by the hash of its HTML so an unchanged appendix is laid out once; the parts are joined
with pypdf, and every page gets its number (which depends on the parts before it) drawn in the
top margin as text, as Decree 30/2020 places it.

No Flask here: the callers pass the directory of kept parts and the number of processes."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .process_pools import SpawnedPool

_renderers = SpawnedPool()  # spawned, each exits with the process that started it (process_pools.py)


def render_one(html: str, base_url: str | None = None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()


def _ready() -> bool:
    import weasyprint  # noqa: F401 — imported once per renderer, before the first report

    return True


def warm(processes: int) -> None:
    """Start the renderers now (a job worker does at start), so the first long report does not
    wait for them."""
    if processes > 1:
        _renderers.warm(processes, _ready)


def shutdown() -> None:
    _renderers.shutdown()


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
        pool = _renderers.get(processes)
        try:
            futures = {i: pool.submit(render_one, parts[i], base_url) for i in todo_sorted}
        except BrokenProcessPool:  # a renderer died since the last report: new ones
            _renderers.discard(pool)
            pool = _renderers.get(processes)
            futures = {i: pool.submit(render_one, parts[i], base_url) for i in todo_sorted}
        for i, fut in futures.items():
            try:
                out[i] = fut.result()
            except BrokenProcessPool:  # a renderer died (killed, out of memory): new ones next time, this part here
                _renderers.discard(pool)
                out[i] = render_one(parts[i], base_url)
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
    return "".join(f"\\{ord(c):x} " if c in '"\'\\<>&\n\r' or ord(c) < 32 else c for c in text)


# The page number, as Decree 30/2020 sets it: Arabic numerals, 13 pt, upright, centred in the top
# margin, not shown on the first page; an appendix numbered on its own. Times-Roman — one of the
# fonts every PDF reader has (PDF's standard 14): digits only, so no font need be embedded.
NUMBER_PT = 13
MM = 72 / 25.4


def _number_stream(text: str, width_pt: float, height_pt: float) -> bytes:
    w = len(text) * 0.5 * NUMBER_PT  # every Times-Roman digit is half an em wide
    left, right = 30 * MM, 15 * MM  # the template's side margins
    x = left + (width_pt - left - right - w) / 2
    y = height_pt - 10 * MM - NUMBER_PT * 0.35  # the middle of the 20 mm top margin
    return f"q BT /BaocaoPageNo {NUMBER_PT} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm ({text}) Tj ET Q".encode("ascii")


def stamp(data: bytes, *, first: int, show_first: bool = True) -> bytes:
    """A part's pages numbered `first`, first + 1, … (the first page left unnumbered when
    `show_first` is false): each page's content wrapped in q … Q (WeasyPrint's pages turn the
    coordinates over) and followed by a few bytes that draw the number — no layout; the original
    content streams are copied as they are."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    def stream(body: bytes):
        s = DecodedStreamObject()
        s.set_data(body)
        return writer._add_object(s)  # streams are indirect objects

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Times-Roman"),
                                                NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    save = stream(b"q\n")
    for k, page in enumerate(writer.pages):
        if k == 0 and not show_first:
            continue
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        fonts = resources.setdefault(NameObject("/Font"), DictionaryObject()).get_object()
        fonts[NameObject("/BaocaoPageNo")] = font
        contents = page.get(NameObject("/Contents"))
        original = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
        number = stream(b"\nQ\n" + _number_stream(str(first + k), float(page.mediabox.width), float(page.mediabox.height)))
        page[NameObject("/Contents")] = ArrayObject([save, *original, number])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def document(parts: Sequence[str], *, sequences: Sequence[int] | None = None, base_url: str | None = None,
             cache_dir: Path | None = None, processes: int = 1) -> tuple[bytes, int]:
    """The PDF of a document made of `parts` (HTML), and how many parts were laid out anew: the
    parts laid out (or taken as kept), numbered, joined. Parts with the same `sequences` number
    are numbered on from one another (the report; each appendix on its own), the first page of
    each sequence unnumbered; by default all parts are one sequence."""
    from pypdf import PdfReader, PdfWriter

    pdfs, rendered = render_parts(parts, base_url=base_url, cache_dir=cache_dir, processes=processes)
    sequences = list(sequences) if sequences is not None else [0] * len(pdfs)
    seen: dict[int, int] = {}
    stamped = []
    for data, seq in zip(pdfs, sequences, strict=True):
        before = seen.get(seq, 0)
        stamped.append(stamp(data, first=before + 1, show_first=before > 0))
        seen[seq] = before + _page_count(data)
    writer = PdfWriter()
    for data in stamped:
        writer.append(PdfReader(io.BytesIO(data)))
    first_meta = PdfReader(io.BytesIO(pdfs[0])).metadata or {}
    writer.add_metadata({k: v for k, v in first_meta.items() if isinstance(k, str)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), rendered
