"""Cross-indicator validation rules of a data form, e.g. ``A = B + C``, ``A <= B``,
``R = (X + Y) / Z * 100``. A tiny safe grammar — never ``eval``:

    rule  := expr ("=" | "<=" | ">=" | "<" | ">" | "!=") expr
    expr  := term (("+" | "-") term)*
    term  := atom (("*" | "/") atom)*
    atom  := NUMBER | CODE | "(" expr ")" | "sum(" CODE ("," CODE)* ")"
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import DomainError

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(<=|>=|!=|==|[-+*/()=<>,]))")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b)),
    "==": lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b)),
    "!=": lambda a, b: abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)),
    "<=": lambda a, b: a <= b + 1e-9,
    ">=": lambda a, b: a + 1e-9 >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}

Node = float | str | tuple


class RuleSyntaxError(DomainError):
    pass


@dataclass(frozen=True)
class Rule:
    text: str
    left: Node
    op: str
    right: Node

    @property
    def codes(self) -> set[str]:
        return _codes(self.left) | _codes(self.right)

    @property
    def left_codes(self) -> list[str]:
        return sorted(_codes(self.left))

    def holds(self, values: Mapping[str, float]) -> bool | None:
        """True/False, or None when a value it needs is missing or a division by zero occurs."""
        try:
            return OPERATORS[self.op](_eval(self.left, values), _eval(self.right, values))
        except (KeyError, ZeroDivisionError):
            return None


def parse_rule(text: str) -> Rule:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    left = parser.expr()
    op = parser.take()
    if op not in OPERATORS:
        raise RuleSyntaxError(f"Quy tắc “{text}” thiếu phép so sánh (=, <=, >=, <, >)")
    right = parser.expr()
    if parser.peek() is not None:
        raise RuleSyntaxError(f"Quy tắc “{text}”: thừa “{parser.peek()}”")
    return Rule(text, left, op, right)


def evaluate(expr_text: str, values: Mapping[str, float]) -> float:
    """Evaluate an arithmetic expression (used for computed indicators)."""
    parser = _Parser(_tokenize(expr_text), expr_text)
    node = parser.expr()
    if parser.peek() is not None:
        raise RuleSyntaxError(f"Biểu thức “{expr_text}”: thừa “{parser.peek()}”")
    return _eval(node, values)


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RuleSyntaxError(f"Quy tắc “{text}”: ký tự không hợp lệ ở vị trí {pos + 1}")
        tokens.append(m.group(m.lastindex))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], text: str):
        self.tokens, self.i, self.text = tokens, 0, text

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise RuleSyntaxError(f"Quy tắc “{self.text}” kết thúc đột ngột")
        self.i += 1
        return tok

    def expr(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.term())
        return node

    def term(self) -> Node:
        node = self.atom()
        while self.peek() in ("*", "/"):
            node = (self.take(), node, self.atom())
        return node

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.expr()
            if self.take() != ")":
                raise RuleSyntaxError(f"Quy tắc “{self.text}”: thiếu “)”")
            return node
        if tok == "-":
            return ("-", 0.0, self.atom())
        if tok.lower() == "sum" and self.peek() == "(":
            self.take()
            codes = [self.take()]
            while self.peek() == ",":
                self.take()
                codes.append(self.take())
            if self.take() != ")":
                raise RuleSyntaxError(f"Quy tắc “{self.text}”: thiếu “)” sau sum(")
            return ("sum", *codes)
        if re.fullmatch(r"\d+(?:\.\d+)?", tok):
            return float(tok)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", tok):
            return tok
        raise RuleSyntaxError(f"Quy tắc “{self.text}”: không hiểu “{tok}”")


def _codes(node: Node) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, tuple):
        if node[0] == "sum":
            return set(node[1:])
        return _codes(node[1]) | _codes(node[2])
    return set()


def _eval(node: Node, values: Mapping[str, float]) -> float:
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        return float(values[node])
    op = node[0]
    if op == "sum":
        return sum(float(values[c]) for c in node[1:])
    a, b = _eval(node[1], values), _eval(node[2], values)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b  # ZeroDivisionError is the caller's "cannot tell"
