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
