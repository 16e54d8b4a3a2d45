// The video pages: upload progress on the form, and live progress on a job's page.
// Without JavaScript the form posts normally and the job page refreshes itself (meta refresh).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var form = document.getElementById("video-form");
  if (form && window.FormData && window.XMLHttpRequest) {
    var input = document.getElementById("video");
    var wrap = document.getElementById("video-progress-wrap");
    var bar = document.getElementById("video-progress");
    var button = document.getElementById("video-submit");
    form.addEventListener("submit", function (e) {
      if (!input.files.length) { return; }
      e.preventDefault();
      window.facegenderSendForm(form, { wrap: wrap, bar: bar, button: button, busyText: "Uploading…" },
        function (xhr) {
          if (xhr.responseURL && xhr.status === 200 && xhr.responseURL !== form.action) {
            window.location.assign(xhr.responseURL);  // the job page the POST redirected to
          } else {  // an error page: show it
            document.open();
            document.write(xhr.responseText);
            document.close();
          }
        });
    });
  }

  var job = document.getElementById("job");
  if (job && (job.dataset.status === "queued" || job.dataset.status === "running")) {
    var state = document.getElementById("job-state");
    var frames = document.getElementById("job-frames");
    var progress = document.getElementById("job-progress");
    var poll = function () {
      fetch(job.dataset.statusUrl, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.status === "done" || s.status === "failed" || s.error) {
            window.location.reload();
            return;
          }
          state.textContent = s.status === "queued" ? "Waiting to start" : "Processing";
          frames.textContent = String(s.frames_read);
          progress.value = s.progress;
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }
})();
