// Small page behaviours, declared in the HTML with data- attributes so that no page needs an
// inline script (the Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
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
        if (s.state === "done") {
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
})();
