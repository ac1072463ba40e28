/* Public site helpers, all optional (every form works without them):
   - one idempotency key per form load, so a double click is one submission;
   - the live counter of a petition refreshes every 15 s;
   - inside an embed iframe, tell the parent page our height. */
(function () {
  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }
  document.querySelectorAll("form.nf input[name=nonce]").forEach(function (input) {
    if (!input.value) input.value = key();
  });
  document.querySelectorAll("form.nf").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) setTimeout(function () { button.disabled = true; }, 0);
    });
  });
  document.querySelectorAll("[data-counter]").forEach(function (box) {
    var url = box.getAttribute("data-counter");
    if (!url) return;
    function refresh() {
      fetch(url, { credentials: "omit" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
        if (!d) return;
        var n = box.querySelector("[data-count]"); if (n) n.textContent = d.count;
        var bar = box.querySelector("[data-bar]");
        if (bar && d.goal) { bar.style.width = Math.min(100, Math.round(d.count * 100 / d.goal)) + "%"; bar.parentNode.setAttribute("aria-valuenow", d.count); }
      }).catch(function () {});
    }
    refresh();
    setInterval(refresh, 15000);
  });
  if (window.parent !== window) {
    var send = function () { window.parent.postMessage({ nationsHeight: document.documentElement.scrollHeight }, "*"); };
    window.addEventListener("load", send); window.addEventListener("resize", send); send();
  }
})();
