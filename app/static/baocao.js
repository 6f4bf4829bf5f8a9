// Small page behaviours, declared in the HTML with data- attributes so that no page needs an
// inline script (the Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
  // A table wider than its box scrolls inside it: the box takes keyboard focus (arrow keys scroll it)
  // and is named for screen readers (WCAG 2.1.1; axe scrollable-region-focusable).
  var tableWord = document.documentElement.lang === "en" ? "Table (scrolls sideways)" : "Bảng (cuộn ngang để xem hết)";
  document.querySelectorAll(".table-responsive").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", tableWord);
    }
  });
  // <select data-auto-submit>: choosing an option submits its form.
  document.querySelectorAll("[data-auto-submit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // <form data-confirm="question">: ask before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
  // <form data-no-submit>: a preview form that never posts.
  document.querySelectorAll("form[data-no-submit]").forEach(function (form) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  });
  // <div data-job-poll="url">: follow a background job until it is done or failed.
  var job = document.querySelector("[data-job-poll]");
  if (job) {
    var started = Date.now();
    var bar = document.getElementById("bar"), step = document.getElementById("step");
    var poll = function () {
      fetch(job.dataset.jobPoll, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
        var secs = Math.round((Date.now() - started) / 1000);
        step.textContent = s.step + " (" + secs + " " + (job.dataset.seconds || "s") + ")";
        if ((s.state === "done" || s.state === "failed") && job.dataset.reloadWhenEnded) {
          window.location.reload();  // the page itself shows what came of it (or moves on to the report)
        } else if (s.state === "done") {
          bar.style.width = "100%";
          document.getElementById("ready").classList.remove("d-none");
        } else if (s.state === "failed") {
          bar.classList.add("bg-danger");
          document.getElementById("again").classList.remove("d-none");
        } else {
          bar.style.width = Math.min(90, 30 + secs * 10) + "%";
          setTimeout(poll, 700);
        }
      });
    };
    if (job.dataset.state !== "done") poll();
  }
  // <input data-agency-picker>: suggestions by name (diacritics optional) with the province, from
  // /agencies/pick; the chosen suggestion puts the agency's code in the field and its name below it.
  document.querySelectorAll("input[data-agency-picker]").forEach(function (input, n) {
    var list = document.createElement("datalist");
    list.id = "agency-picks-" + n;
    input.setAttribute("list", list.id);
    input.after(list);
    var picked = document.createElement("div");
    picked.className = "form-text";
    picked.setAttribute("data-agency-picked", "");
    picked.setAttribute("aria-live", "polite");
    list.after(picked);
    var known = {}, timer = null;
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (known[q]) { picked.textContent = known[q]; return; }
      picked.textContent = "";
      clearTimeout(timer);
      if (q.length < 2) return;
      timer = setTimeout(function () {
        fetch("/agencies/pick?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            list.replaceChildren();
            rows.forEach(function (row) {
              var opt = document.createElement("option");
              opt.value = row.code;
              opt.label = row.label;
              opt.textContent = row.label;
              known[row.code] = row.label;
              list.appendChild(opt);
            });
            if (known[input.value.trim()]) picked.textContent = known[input.value.trim()];
          });
      }, 200);
    });
  });
})();
