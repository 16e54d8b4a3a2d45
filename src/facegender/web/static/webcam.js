// The live webcam page: camera frames go to /webcam/frame at a bounded rate (one request in
// flight, at most MAX_FPS a second, at most 640 px wide) and the faces are drawn over the video.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var MAX_FPS = 4, MAX_WIDTH = 640, COLORS = { female: "#c0392b", male: "#1f6fb5", uncertain: "#777777" };
  var form = document.getElementById("webcam-form");
  if (!form) { return; }
  var video = document.getElementById("webcam-video");
  var overlay = document.getElementById("webcam-overlay");
  var message = document.getElementById("webcam-message");
  var startBtn = document.getElementById("webcam-start");
  var stopBtn = document.getElementById("webcam-stop");
  var countEl = document.getElementById("face-count");
  var labelsEl = document.getElementById("webcam-labels");
  var rateEl = document.getElementById("webcam-rate");
  var grab = document.createElement("canvas");
  var stream = null, timer = null, inFlight = false, lastSent = 0, done = [];

  function say(text, kind) {
    message.className = "alert alert-" + (kind || "info");
    message.textContent = text;
  }

  function cameraError(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      say("Camera permission was denied. Allow the camera for this site in your browser's settings, then press Start camera again.", "warning");
    } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      say("No camera was found. Connect a camera (or close other apps using it) and press Start camera again.", "warning");
    } else if (name === "NotReadableError") {
      say("The camera is in use by another application or could not be started.", "warning");
    } else {
      say("The camera could not be started" + (err && err.message ? ": " + err.message : "."), "warning");
    }
    stop();
  }

  function draw(result) {
    var w = video.videoWidth, h = video.videoHeight;
    overlay.width = w; overlay.height = h;
    var ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    var scale = w / result.image.width, labels = [];
    ctx.lineWidth = Math.max(2, Math.round(w / 240));
    ctx.font = Math.max(12, Math.round(w / 40)) + "px sans-serif";
    result.faces.forEach(function (f, i) {
      var b = f.box, color = f.uncertain ? COLORS.uncertain : COLORS[f.gender];
      var text = (f.uncertain ? "uncertain " : "") + f.gender + " " + Math.round(100 * f.confidence) + "%";
      ctx.strokeStyle = color;
      ctx.strokeRect(b.x * scale, b.y * scale, b.w * scale, b.h * scale);
      var tw = ctx.measureText(text).width + 8, th = parseInt(ctx.font, 10) + 6;
      var ty = Math.max(0, b.y * scale - th);
      var tx = Math.max(0, Math.min(b.x * scale, w - tw));  // whole at the right edge
      ctx.fillStyle = color;
      ctx.fillRect(tx, ty, tw, th);
      ctx.fillStyle = "#ffffff";
      ctx.fillText(text, tx + 4, ty + th - 6);
      labels.push("face " + (i + 1) + ": " + text);
    });
    countEl.textContent = String(result.faces.length);
    labelsEl.textContent = labels.join(", ") || "no face in view";
  }

  function send() {
    if (!stream || inFlight || !video.videoWidth) { return; }
    var now = performance.now();
    if (now - lastSent < 1000 / MAX_FPS) { return; }
    lastSent = now;
    var s = Math.min(1, MAX_WIDTH / video.videoWidth);
    grab.width = Math.round(video.videoWidth * s);
    grab.height = Math.round(video.videoHeight * s);
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    inFlight = true;
    grab.toBlob(function (blob) {
      var data = new FormData(form);
      data.append("image", blob, "frame.jpg");
      fetch(form.dataset.frameUrl, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) {
          return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
        })
        .then(function (res) {
          if (!stream) { return; }
          if (res.ok) {
            draw(res.body);
            done.push(performance.now());
            done = done.filter(function (t) { return performance.now() - t < 5000; });
            rateEl.textContent = (done.length / 5).toFixed(1);
            if (message.dataset.live !== "1") { say("Live: boxes follow the faces in view.", "success"); message.dataset.live = "1"; }
          } else if (res.status === 429) {
            say("The server asks to slow down; retrying shortly.", "warning");
            message.dataset.live = "";
            lastSent = performance.now() + 2000;
          } else {
            say("The server could not analyse a frame: " + (res.body.error ? res.body.error.message : res.status), "warning");
            message.dataset.live = "";
          }
        })
        .catch(function () { say("Lost the connection to the server; retrying.", "warning"); message.dataset.live = ""; })
        .then(function () { inFlight = false; });
    }, "image/jpeg", 0.85);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("This browser does not give pages a camera here: the live page needs a recent browser, on localhost or https.", "warning");
      return;
    }
    startBtn.disabled = true;
    say("Asking for the camera…");
    navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        stopBtn.disabled = false;
        say("Camera on; analysing…");
        timer = window.setInterval(send, 50);
      })
      .catch(cameraError);
  }

  function stop() {
    if (timer) { window.clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.srcObject = null;
    overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    startBtn.disabled = false;
    stopBtn.disabled = true;
    message.dataset.live = "";
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", function () { stop(); say("Camera off."); });
  window.addEventListener("pagehide", stop);
})();
