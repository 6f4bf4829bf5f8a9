"""Password policy (plain rules, no framework): long enough, not the account's own name, not a
well-known or trivially patterned password. Composition rules ("one digit, one symbol") are
deliberately absent: length and a block list protect better and people can remember a phrase.
"""
from __future__ import annotations

import unicodedata

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON = {
    "1234567890", "0123456789", "12345678910", "123456789a", "matkhau123", "matkhau1234", "password123",
    "password1234", "qwertyuiop", "qwerty1234", "abc1234567", "1111111111", "admin12345", "adminadmin",
    "baocao2026", "baocao12345", "vietnam123", "vietnam1234", "iloveyou12", "abcdefghij",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def password_problems(password: str | None, *, username: str = "", full_name: str = "") -> list[str]:
    """Every reason this password is refused (empty list: accepted). Messages in Vietnamese."""
    password = password or ""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"mật khẩu cần ít nhất {MIN_LENGTH} ký tự")
    if len(password) > MAX_LENGTH:
        problems.append(f"mật khẩu dài quá {MAX_LENGTH} ký tự")
    folded = _fold(password)
    name = _fold(username or "")
    if name and len(name) >= 3 and name in folded:
        problems.append("mật khẩu không được chứa tên đăng nhập")
    if folded.replace(" ", "") in COMMON:
        problems.append("mật khẩu quá phổ biến, dễ bị đoán")
    elif password and len(set(password)) <= 2:
        problems.append("mật khẩu chỉ lặp lại một vài ký tự")
    elif len(password) >= MIN_LENGTH and _is_run(folded):
        problems.append("mật khẩu là một dãy ký tự liên tiếp")
    words = [w for w in _fold(full_name or "").split() if len(w) >= 3]
    if words and folded.replace(" ", "") == "".join(words):
        problems.append("mật khẩu không được là họ tên")
    return problems


def _is_run(text: str) -> bool:
    """abcdefghij, 9876543210: each character one step from the previous one."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps.pop() in (1, -1)
