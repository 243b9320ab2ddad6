// Live preview for the editor page: re-renders the article and its teaser
// on the server (the same renderer and sanitizer as publishing) as you type.
// Without JavaScript the "Preview" button does the same.
(function () {
  var form = document.getElementById("editor-form");
  var markdown = document.getElementById("markdown");
  if (!form || !markdown) return;
  var timer = null;
  function refresh() {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements["csrf_token"].value);
    body.set("markdown", markdown.value);
    fetch("/admin/preview", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (rendered) {
        if (!rendered) return;
        document.getElementById("preview-full").innerHTML = rendered.html;
        document.getElementById("preview-teaser").innerHTML = rendered.preview_html;
      });
  }
  markdown.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();

// Image uploads: a file chosen under the body goes in at the cursor as
// markdown; one chosen under the cover image fills its address. Both are
// sent to /admin/media with the page's CSRF token; without JavaScript the
// fields stay hidden and addresses are typed by hand.
(function () {
  var form = document.getElementById("editor-form");
  var status = document.getElementById("upload-status");
  if (!form || !status) return;
  var inputs = form.querySelectorAll("input[data-upload]");
  function say(message) { status.textContent = message; }
  function insertAtCursor(field, text) {
    var start = field.selectionStart, end = field.selectionEnd, value = field.value;
    var before = value.slice(0, start), after = value.slice(end);
    var lead = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
    var trail = after.startsWith("\n\n") ? "" : (after.startsWith("\n") ? "\n" : "\n\n");
    field.value = before + lead + text + trail + after;
    field.selectionStart = field.selectionEnd = (before + lead + text).length;
    field.dispatchEvent(new Event("input"));
    field.focus();
  }
  Array.prototype.forEach.call(inputs, function (input) {
    input.parentNode.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) return;
      var body = new FormData();
      body.append("file", file);
      say("Uploading " + file.name + "…");
      fetch("/admin/media", {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": form.elements["csrf_token"].value }
      })
        .then(function (r) { return r.json().then(function (json) { return { ok: r.ok, json: json }; }); })
        .then(function (answer) {
          if (!answer.ok) {
            say((answer.json.error && answer.json.error.message) || "The upload failed.");
            return;
          }
          var image = answer.json;
          if (input.dataset.upload === "markdown") {
            var alt = file.name.replace(/\.[^.]*$/, "").replace(/[\[\]]/g, "");
            insertAtCursor(document.getElementById("markdown"), "![" + alt + "](" + image.path + ")");
          } else {
            document.getElementById(input.dataset.upload).value = image.path;
          }
          say("Uploaded " + file.name + " (" + image.width + "×" + image.height + ").");
          input.value = "";
        })
        .catch(function () { say("The upload failed; check your connection and try again."); });
    });
  });
})();
