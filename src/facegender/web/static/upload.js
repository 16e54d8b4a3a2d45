// Progressive enhancement of the upload form: drag and drop, previews, upload progress.
// Without JavaScript the plain form posts the same fields to the same URL.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var input = document.getElementById("photos");
  var zone = document.getElementById("dropzone");
  var previews = document.getElementById("previews");
  var wrap = document.getElementById("upload-progress-wrap");
  var bar = document.getElementById("upload-progress");
  var button = document.getElementById("submit-btn");

  function showPreviews() {
    previews.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var fig = document.createElement("figure");
      fig.className = "m-0 text-center small";
      if (/^image\/(jpeg|png|webp|gif|bmp)$/.test(file.type)) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = "Preview of " + file.name;
        img.onload = function () { URL.revokeObjectURL(img.src); };
        fig.appendChild(img);
      }
      var cap = document.createElement("figcaption");
      cap.textContent = file.name + " (" + Math.round(file.size / 1024) + " KB)";
      fig.appendChild(cap);
      previews.appendChild(fig);
    });
  }
  input.addEventListener("change", showPreviews);
  ["dragenter", "dragover"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      showPreviews();
    }
  });
  form.addEventListener("submit", function (e) {
    if (!input.files.length) { return; }
    e.preventDefault();
    window.facegenderSendForm(form, { wrap: wrap, bar: bar, button: button, busyText: "Analyzing…" },
      function (xhr) {
        document.open();
        document.write(xhr.responseText);
        document.close();
        history.pushState(null, "", form.action);
      });
  });
})();
