// Send a form with XMLHttpRequest so the page can show upload progress; shared by the photo
// and video forms. Without JavaScript the same forms post normally.
window.facegenderSendForm = function (form, parts, onload) {
  "use strict";
  var xhr = new XMLHttpRequest();
  var idleText = parts.button.textContent;
  xhr.open("POST", form.action);
  parts.wrap.classList.remove("d-none");
  parts.button.disabled = true;
  parts.button.textContent = parts.busyText;
  xhr.upload.addEventListener("progress", function (ev) {
    if (ev.lengthComputable) {
      var pct = Math.round(100 * ev.loaded / ev.total);
      parts.bar.value = pct;
      parts.wrap.setAttribute("aria-valuenow", String(pct));
    }
  });
  xhr.onload = function () { onload(xhr); };
  xhr.onerror = function () {
    parts.button.disabled = false;
    parts.button.textContent = idleText;
    parts.wrap.classList.add("d-none");
    alert("The upload failed: check your connection and try again.");
  };
  xhr.send(new FormData(form));
};
