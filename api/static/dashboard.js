// Refresh the dashboard's widgets without reloading the page: poll the fragment URL the
// container names and swap its HTML in. No framework, no CDN.
(function () {
  "use strict";
  var box = document.getElementById("widgets");
  if (!box) return;
  var url = box.getAttribute("data-refresh-url");
  var every = parseInt(box.getAttribute("data-refresh-seconds") || "60", 10) * 1000;
  function refresh() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; box.setAttribute("data-refreshed", String(Date.now())); } })
      .catch(function () { /* keep the last good view; try again next time */ });
  }
  setInterval(refresh, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
})();
