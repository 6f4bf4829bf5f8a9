// Report form: live totals, Vietnamese numbers, autosave. The server recomputes everything;
// this only shows the reporter what the totals will be while typing.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;

  // Same rule as app/domain/numbers.py: dots before groups of three digits are thousands
  // separators, a comma is the decimal mark; a dot is a decimal mark only where it cannot group.
  function parse(text) {
    var raw = String(text || "").replace(/[\s\u00a0\u202f']/g, "");
    if (!raw) return null;
    var sign = 1;
    if (raw[0] === "-" || raw[0] === "+") { if (raw[0] === "-") sign = -1; raw = raw.slice(1); }
    var digits;
    if (/^[1-9]\d{0,2}(\.\d{3})+(,\d+)?$/.test(raw)) digits = raw.replace(/\./g, "").replace(",", ".");
    else if (/^\d+(,\d+)?$/.test(raw)) digits = raw.replace(",", ".");
    else if (/^\d+\.\d+$/.test(raw)) digits = raw;
    else return NaN;
    return sign * parseFloat(digits);
  }
  function format(n) {
    if (n === null || isNaN(n)) return "";
    return n.toLocaleString("vi-VN", { maximumFractionDigits: 6 });
  }
  var inputs = {};
  form.querySelectorAll("input[data-cell]").forEach(function (el) { inputs[el.dataset.cell] = el; });
  function value(key) {
    var el = inputs[key];
    if (!el) return null;
    var v = el.dataset.kind ? el._computed : parse(el.value);
    return (v === undefined || isNaN(v)) ? null : v;
  }
  function sum(keys) {
    var total = null;
    keys.forEach(function (k) { var v = value(k); if (v !== null) total = (total || 0) + v; });
    return total;
  }
  function split(s) { return (s || "").trim().split(/\s+/).filter(Boolean); }
  var computed = form.querySelectorAll("input[data-kind]");
  function recompute() {
    for (var pass = 0; pass < 6; pass++) {
      computed.forEach(function (el) {
        var v;
        if (el.dataset.kind === "ratio") {
          var num = sum(split(el.dataset.num)), den = sum(split(el.dataset.den));
          v = (num !== null && den) ? num / den * parseFloat(el.dataset.scale || "1") : null;
        } else v = sum(split(el.dataset.parts));
        el._computed = v === null ? undefined : Math.round(v * 1e6) / 1e6;
      });
    }
    computed.forEach(function (el) { el.value = format(el._computed === undefined ? null : el._computed); });
    form.querySelectorAll("input[name^='v|']").forEach(function (el) {
      el.classList.toggle("is-invalid", el.value.trim() !== "" && isNaN(parse(el.value)));
    });
  }
  recompute();
  form.addEventListener("input", recompute);
  if (form.dataset.autosave !== "1") return;  // preview: live totals only

  var status = document.getElementById("autosave-status");
  var say = function (key) { return status.dataset[key] || ""; };  // the page's language (data-msg-* on the status)
  var dirty = false, stopped = false, busy = false, held = null;  // held: a save clicked while an autosave was under way
  form.addEventListener("input", function () {
    dirty = true;
    if (stopped) return;  // a refusal ("changed by … after you opened it") stays in view
    status.textContent = say("msgDirty"); status.classList.remove("text-danger");
  });
  function autosave() {
    if (!dirty || stopped || busy) return;
    busy = true; dirty = false;
    var data = new FormData(form);
    fetch(window.location.pathname, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Autosave": "1", "X-CSRFToken": data.get("csrf_token"), "Accept": "application/json" }
    }).then(function (resp) {
      return resp.json().then(function (body) { return { status: resp.status, body: body }; });
    }).then(function (r) {
      busy = false;
      setTimeout(resume, 0);  // after the revision below is updated: the held save carries the new one
      if (r.body.saved) {
        form.querySelectorAll("input[name='revision']").forEach(function (el) { el.value = r.body.revision; });
        document.querySelectorAll("form input[name='revision']").forEach(function (el) { el.value = r.body.revision; });
        status.textContent = say("msgSaved") + " " + r.body.saved_at;
      } else if (r.status === 409) {
        stopped = true;
        status.textContent = r.body.message;
        status.classList.add("text-danger");
      } else {
        status.textContent = say("msgFailed") + " " + r.body.message;
      }
    }).catch(function () {
      busy = false; dirty = true; status.textContent = say("msgOffline");
      resume();
    });
  }
  function resume() {
    if (!held) return;
    var h = held; held = null;
    h.form.requestSubmit(h.submitter || undefined);
  }
  setInterval(autosave, parseInt(form.dataset.autosaveMs || "20000", 10));
  window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  form.addEventListener("submit", function (e) {
    // a save clicked while an autosave is on its way waits for its answer: sent at once, it would
    // carry the revision of before and be refused as changed by someone else — by this very clerk
    if (busy) { e.preventDefault(); held = { form: form, submitter: e.submitter }; return; }
    dirty = false; stopped = true;
  });
  // the other forms that carry the report's revision (send it, upload a workbook) likewise wait
  // for an autosave on its way; with changes not yet saved, sending would send the stored draft
  // without them: the clerk is asked to save first. (Listening on the document while capturing:
  // before "Gửi báo cáo này?" is asked, so it is asked once, when the form really goes.)
  document.addEventListener("submit", function (e) {
    var other = e.target;
    if (other === form || !other.querySelector("input[name='revision']")) return;
    if (dirty && other.dataset.testid === "submit-form") {
      e.preventDefault(); e.stopPropagation();
      status.textContent = say("msgSaveFirst");
      status.classList.add("text-danger");
      return;
    }
    if (busy) { e.preventDefault(); e.stopPropagation(); held = { form: other, submitter: e.submitter }; }
  }, true);
})();
