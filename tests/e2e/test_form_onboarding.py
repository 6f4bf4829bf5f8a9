"""A ministry designer puts an existing form online in a real headless Chromium: a new regime's
draft, the Word form uploaded, one row corrected in the review, accepted, previewed (totals add
up live), published; a department's clerk then fills it."""
from tests.e2e.pages import fill_elements, login, logout, new_regime
from tests.forms.corpus import build, forms


def test_designer_imports_a_word_form_corrects_a_row_publishes_and_a_reporter_fills_it(page, live_server, tmp_path):
    form = next(f for f in forms() if f.name == "agriculture-docx")
    data, name = build(form)
    upload = tmp_path / name
    upload.write_bytes(data)
    base = live_server
    login(page, base, "thietke.bct")
    new_regime(page, "BCT-CAYTRONG", "Báo cáo diện tích, sản lượng cây trồng")
    fill_elements(page, legal_basis="Thông tư quy định chế độ báo cáo thống kê ngành nông nghiệp",
                  content="Diện tích gieo trồng, sản lượng cây trồng chủ yếu trên địa bàn", tier_name="Sở Công Thương gửi Bộ Công Thương",
                  outline_title="Tình hình sản xuất")

    page.click("[data-testid=import-form-link]")
    page.set_input_files("#f-file", str(upload))
    page.click("[data-testid=import-upload] button")
    rows = page.locator("[data-testid=import-rows]")
    assert "DIỆN TÍCH, SẢN LƯỢNG CÂY TRỒNG" in page.input_value("#r-title")
    assert page.locator("[data-testid=import-original]").inner_text().count("Cây lúa") == 1
    assert page.input_value("[data-testid=label-1]") == "Cây lúa"
    page.fill("[data-testid=label-1]", "Cây lúa (cả năm)")  # the correction
    assert rows.locator("tbody tr").count() == 9
    page.click("[data-testid=import-accept]")
    assert "Đã đưa biểu BIEU04NN vào bản nháp" in page.inner_text(".alert-success")
    page.click("text=← BCT-CAYTRONG")
    assert page.locator("[data-testid=missing]").count() == 0
    page.click("[data-testid=preview-link]")
    preview = page.locator("[data-testid=preview]")
    assert "Cây lúa (cả năm)" in preview.inner_text()
    preview.locator("input[data-cell='BCT_CAYTRONG_002|']").fill("1.200")
    preview.locator("input[data-cell='BCT_CAYTRONG_005|']").fill("300")
    preview.locator("input[data-cell='BCT_CAYTRONG_006|']").fill("500")
    assert preview.locator("input[data-cell='BCT_CAYTRONG_001|']").input_value() == "2.000"  # the subtotal adds up live
    page.click("text=← Về bản nháp")
    page.click("[data-testid=publish-button]")
    assert "Đã công bố phiên bản 1 của BCT-CAYTRONG" in page.inner_text(".alert-success")
    logout(page)

    login(page, base, "canbo.sct")
    page.goto(f"{base}/reports/BCT-CAYTRONG/T01.SCT/2026-Q3")
    assert "Cây lúa (cả năm)" in page.inner_text("main") and "Trong đó:" in page.inner_text("main")
    for code, value in (("002", "1.200"), ("003", "300"), ("004", "100"), ("005", "300"), ("006", "500"), ("008", "7.000"),
                        ("009", "2.500")):
        page.fill(f"input[data-cell='BCT_CAYTRONG_{code}|']", value)
    page.click("[data-testid=save-button]")
    assert "Đã lưu" in page.inner_text(".alert-success")
    assert page.input_value("input[data-cell='BCT_CAYTRONG_007|']") == "9.500"
