"""Reads the catalogue files (report_templates/, indicators/) as YAML that remembers line numbers,
so every problem can point at its file and line."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.domain.catalogue import Source
from app.domain.errors import Problem


class LineDict(dict):
    line: int | None = None
    lines: dict


class LineList(list):
    line: int | None = None


MAX_NODES = 200_000  # the shipped regimes have a few thousand; the work of a file is bounded before it is walked
MAX_DEPTH = 40


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) whose mappings and lists carry 1-based line numbers.

    Anchors and aliases are refused: catalogue files never need them, and an alias expands to a copy
    of its node, so a few hundred bytes of nested aliases ("billion laughs") would expand to
    gigabytes. Node count and nesting depth are capped while composing, before anything is built."""

    _nodes = 0
    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "không dùng neo/bí danh YAML (&, *) trong tệp danh mục",
                                              event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"tệp có quá {MAX_NODES:,} phần tử".replace(",", "."),
                                              event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"lồng quá {MAX_DEPTH} cấp", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.lines = {self.construct_object(k, deep=True): k.start_mark.line + 1 for k, _ in node.value}
        return mapping

    def construct_sequence(self, node, deep=False):  # type: ignore[override]
        seq = LineList(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def read_yaml(path: Path, root: Path, problems: list[Problem]) -> Source | None:
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 — a SafeLoader subclass
    except UnicodeDecodeError:
        problems.append(Problem("tệp không phải UTF-8", rel))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(f"lỗi cú pháp YAML: {reason}", rel, mark.line + 1 if mark else None))
        return None
    return Source(rel, data)


def read_catalogue_tree(root: Path, problems: list[Problem]):
    """Everything under root/indicators and root/report_templates, as Sources.

    Returns (disaggregation sources, indicator sources, [(regime source, {form code: source})]).
    """
    ind_dir, reg_dir = root / "indicators", root / "report_templates"
    disaggs, indicators, regimes = [], [], []
    for path in sorted(ind_dir.glob("*.yaml")):
        source = read_yaml(path, root, problems)
        if source is None:
            continue
        (disaggs if path.stem == "disaggregations" else indicators).append(source)
    for folder in sorted(p for p in reg_dir.iterdir() if p.is_dir() and not p.name.startswith("_")) if reg_dir.is_dir() else []:
        regime_file = folder / "regime.yaml"
        if not regime_file.exists():
            problems.append(Problem("thư mục chế độ báo cáo thiếu tệp regime.yaml", str(folder.relative_to(root))))
            continue
        source = read_yaml(regime_file, root, problems)
        forms = {}
        for form_path in sorted((folder / "forms").glob("*.yaml")):
            form = read_yaml(form_path, root, problems)
            if form is None:
                forms[form_path.stem] = None  # already reported; the regime must not say "missing"
                continue
            code = form.data.get("code") if isinstance(form.data, dict) else None
            if code != form_path.stem:
                problems.append(Problem(f"mã biểu “{code}” khác tên tệp “{form_path.stem}”", form.path, getattr(form.data, "line", None)))
            forms[form_path.stem] = form
        if source is not None:
            regimes.append((source, forms))
    return disaggs, indicators, regimes


# ------------------------------------------------------------------------------------ writing
class _Dumper(yaml.SafeDumper):
    """Block style, Vietnamese kept as is, lists indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(doc, header: str = "") -> str:
    text = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)
    return (f"# {header}\n" if header else "") + text


def regime_files(snapshot: dict) -> dict[str, str]:
    """A regime version as catalogue files (the format of docs/catalogue-format.md): its regime
    and forms, the indicators it uses, the disaggregations they need. Deterministic text."""
    code = snapshot["regime"]["code"]
    files = {f"report_templates/{code}/regime.yaml": dump_yaml(snapshot["regime"], "Xuất từ baocao — chế độ báo cáo " + code)}
    for form_code, form in snapshot["forms"].items():
        files[f"report_templates/{code}/forms/{form_code}.yaml"] = dump_yaml(form, f"Biểu mẫu {form_code} của {code}")
    files[f"indicators/{code.lower()}.yaml"] = dump_yaml({"indicators": snapshot["indicators"]}, f"Chỉ tiêu dùng trong {code}")
    files["indicators/disaggregations.yaml"] = dump_yaml({"disaggregations": snapshot["disaggregations"]}, "Phân tổ")
    return files
