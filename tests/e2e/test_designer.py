"""A ministry designer builds a quarterly regime in a real headless Chromium: two forms and a
rule, preview, publish, edit into version 2; a reporter then sees version 2 for the next period
while the previous period keeps version 1."""
from tests.e2e.pages import fill_elements, login, logout, new_regime


def test_designer_creates_previews_publishes_and_revises_a_regime(page, live_server):
    login(page, live_server, "thietke.bct")
    new_regime(page, "BCT-XNK", "Báo cáo tình hình xuất nhập khẩu quý")
    assert "Còn thiếu" in page.inner_text("[data-testid=missing]")
    assert page.is_disabled("[data-testid=publish-button]")

    fill_elements(page, legal_basis="Thông tư hướng dẫn chế độ báo cáo xuất nhập khẩu",
                  content="Kim ngạch xuất khẩu, nhập khẩu hàng hóa trên địa bàn tỉnh", tier_name="Sở Công Thương gửi Bộ Công Thương",
                  outline_title="Tình hình xuất nhập khẩu")

    for code, title, rows in (("BIEU01", "Tổng mức bán lẻ", [("BL_TONG", "A", ""), ("BL_HH", "1", "BL_TONG"), ("BL_DV", "2", "BL_TONG")]),
                              ("BIEU02", "Lưu trú, ăn uống", [("BL_LT", "1", "")])):
        add = page.locator("[data-testid=add-form]")
        add.locator("input[name=form_code]").fill(code)
        add.locator("input[name=form_title]").fill(title)
        add.locator("button").click()
        for i, (indicator, number, parent) in enumerate(rows):
            page.fill(f"input[name=row{i}_indicator]", indicator)
            page.fill(f"input[name=row{i}_row]", number)
            page.fill(f"input[name=row{i}_order]", str(i + 1))
            if parent:
                page.fill(f"input[name=row{i}_parent]", parent)
        if code == "BIEU01":
            page.fill("textarea[name=rules]", "BL_HH <= BL_TONG | error | Bán lẻ hàng hóa không vượt tổng")
        page.click("[data-testid=save-form]")
        assert "Đã lưu biểu" in page.inner_text(".alert-success")
        if code == "BIEU01":
            check = page.locator("[data-testid=rule-check]")
            check.locator("input[name=rule]").fill("BL_HH <= BL_TONG")
            check.locator("input[name=sample]").fill("BL_HH=120; BL_TONG=100")
            check.locator("button").click()
            assert "KHÔNG thỏa" in page.inner_text("[data-testid=rule-result]")
        page.click("text=← BCT-XNK")

    assert page.locator("[data-testid=missing]").count() == 0
    page.click("[data-testid=preview-link]")
    preview = page.locator("[data-testid=preview]")
    preview.locator("input[data-cell='BL_HH|']").fill("1.200")
    preview.locator("input[data-cell='BL_DV|']").fill("800,5")
    assert preview.locator("input[data-cell='BL_TONG|']").input_value() == "2.000,5"  # totals live in the preview
    page.click("text=← Về bản nháp")
    page.click("[data-testid=publish-button]")
    assert "Đã công bố phiên bản 1 của BCT-XNK" in page.inner_text(".alert-success")

    page.click("text=Sửa (tạo bản nháp phiên bản tiếp theo)")
    page.click("text=BIEU02 — Lưu trú, ăn uống")
    page.fill("[data-testid=form-editor] input[name=title]", "Lưu trú, ăn uống (sửa đổi)")
    page.click("[data-testid=save-form]")
    page.click("text=← BCT-XNK")
    page.click("[data-testid=publish-button]")
    assert "Đã công bố phiên bản 2 của BCT-XNK" in page.inner_text(".alert-success")
    page.click("[data-testid=diff-link-2]")
    assert "+title: Lưu trú, ăn uống (sửa đổi)" in page.inner_text("[data-testid=version-diff]")
    logout(page)

    login(page, live_server, "canbo.sct")
    page.goto(f"{live_server}/reports/BCT-XNK/T01.SCT/2026-Q3")
    assert "phiên bản 1" in page.inner_text("main") and "Biểu 02: Lưu trú, ăn uống" in page.inner_text("main")
    assert "(sửa đổi)" not in page.inner_text("main")
    page.goto(f"{live_server}/reports/BCT-XNK/T01.SCT/2026-Q4")
    assert "phiên bản 2" in page.inner_text("main") and "Biểu 02: Lưu trú, ăn uống (sửa đổi)" in page.inner_text("main")
