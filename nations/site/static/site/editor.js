/* A small rich-text editor for page text: a contenteditable area over the form's <textarea
   data-editor>, with a toolbar. The textarea stays the source of truth (and the fallback without
   JavaScript); the server sanitises whatever arrives (nh3), so this file has no safety role. */
(function () {
  var L = document.documentElement.lang === "fr"
    ? { b: "Gras", i: "Italique", h2: "Titre", h3: "Sous-titre", ul: "Liste", ol: "Liste numérotée", q: "Citation", a: "Lien", img: "Image", html: "HTML", url: "Adresse du lien (https://…)", alt: "Texte alternatif", title: "Insérer une image", file: "Envoyer une image (PNG, JPEG, GIF ou WebP, 10 Mo au plus)", altHelp: "Ce que montre l'image, pour qui ne peut pas la voir.", upload: "Envoyer et insérer", uploading: "Envoi…", pick: "Ou choisir une image déjà envoyée", none: "Aucune image envoyée pour l'instant.", close: "Fermer", needFile: "Choisissez un fichier image.", needAlt: "Écrivez le texte alternatif.", failed: "L'envoi a échoué. Êtes-vous toujours connecté ? Réessayez.", inserted: "Image insérée." }
    : { b: "Bold", i: "Italic", h2: "Heading", h3: "Subheading", ul: "List", ol: "Numbered list", q: "Quote", a: "Link", img: "Image", html: "HTML", url: "Link address (https://…)", alt: "Alternative text", title: "Insert an image", file: "Upload an image (PNG, JPEG, GIF or WebP, up to 10 MB)", altHelp: "What the image shows, for people who cannot see it.", upload: "Upload and insert", uploading: "Uploading…", pick: "Or pick an image you uploaded before", none: "No images uploaded yet.", close: "Close", needFile: "Choose an image file.", needAlt: "Write the alternative text.", failed: "The upload failed. Are you still logged in? Try again.", inserted: "Image inserted." };
  document.querySelectorAll("textarea[data-editor]").forEach(function (area) {
    var wrap = document.createElement("div"); wrap.className = "rte";
    var bar = document.createElement("div"); bar.className = "rte-bar"; bar.setAttribute("role", "toolbar");
    var box = document.createElement("div"); box.className = "rte-box"; box.contentEditable = "true";
    box.setAttribute("role", "textbox"); box.setAttribute("aria-multiline", "true");
    var label = document.querySelector("label[for='" + area.id + "']");
    if (label) { label.id = label.id || area.id + "-label"; box.setAttribute("aria-labelledby", label.id); }
    box.innerHTML = area.value;
    function sync() { area.value = box.innerHTML; }
    function button(text, title, run) {
      var b = document.createElement("button"); b.type = "button"; b.className = "btn btn-sm";
      b.textContent = text; b.title = title; b.setAttribute("aria-label", title);
      b.addEventListener("click", function () { box.focus(); run(); sync(); }); bar.appendChild(b);
    }
    function cmd(name, value) { return function () { document.execCommand(name, false, value || null); }; }
    button("B", L.b, cmd("bold")); button("I", L.i, cmd("italic"));
    button("H2", L.h2, cmd("formatBlock", "h2")); button("H3", L.h3, cmd("formatBlock", "h3"));
    button("•", L.ul, cmd("insertUnorderedList")); button("1.", L.ol, cmd("insertOrderedList"));
    button("“ ”", L.q, cmd("formatBlock", "blockquote"));
    button(L.a, L.a, function () { var u = prompt(L.url); if (u) document.execCommand("createLink", false, u); });
    button(L.img, L.img, function () { openImages(area, box, sync); });
    button("</>", L.html, function () {
      var raw = area.hidden; if (!raw) { sync(); }
      area.hidden = !raw; box.hidden = raw;
      if (raw) box.innerHTML = area.value;
    });
    box.addEventListener("input", sync);
    area.addEventListener("input", function () { box.innerHTML = area.value; });
    area.parentNode.insertBefore(wrap, area); wrap.appendChild(bar); wrap.appendChild(box); wrap.appendChild(area);
    area.hidden = true;
    if (area.form) area.form.addEventListener("submit", function () { if (area.hidden) sync(); });
  });
  /* The image dialog: upload to the nation's images (checked and resized on the server, alt text
     required) or pick one uploaded before; the image goes where the caret was. */
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function openImages(area, box, sync) {
    var url = area.getAttribute("data-media");
    var sel = window.getSelection(), range = sel.rangeCount && box.contains(sel.anchorNode) ? sel.getRangeAt(0).cloneRange() : null;
    var csrf = area.form && area.form.querySelector("[name=csrfmiddlewaretoken]");
    var dlg = el("dialog", { "class": "rte-dialog", "aria-labelledby": area.id + "-img-title" });
    var form = el("form", { method: "dialog", novalidate: "" });
    form.appendChild(el("h2", { id: area.id + "-img-title" }, L.title));
    var error = el("p", { "class": "rte-error", role: "alert" });
    var status = el("p", { "class": "rte-status", role: "status" });
    var f1 = el("div", { "class": "field" });
    f1.appendChild(el("label", { "for": area.id + "-img-file" }, L.file));
    var file = el("input", { type: "file", id: area.id + "-img-file", accept: "image/png,image/jpeg,image/gif,image/webp" });
    f1.appendChild(file);
    var f2 = el("div", { "class": "field" });
    f2.appendChild(el("label", { "for": area.id + "-img-alt" }, L.alt));
    var alt = el("input", { type: "text", id: area.id + "-img-alt", maxlength: "300", "aria-describedby": area.id + "-img-alt-help" });
    f2.appendChild(alt);
    f2.appendChild(el("div", { "class": "help", id: area.id + "-img-alt-help" }, L.altHelp));
    var row = el("div", { "class": "btn-row" });
    var send = el("button", { type: "button", "class": "btn btn-primary" }, L.upload);
    var close = el("button", { type: "button", "class": "btn" }, L.close);
    row.appendChild(send); row.appendChild(close);
    var pick = el("h3", {}, L.pick);
    var grid = el("ul", { "class": "rte-images" });
    [error, f1, f2, row, status, pick, grid].forEach(function (n) { form.appendChild(n); });
    dlg.appendChild(form); document.body.appendChild(dlg);
    function done() { dlg.close(); dlg.remove(); }
    close.addEventListener("click", done);
    form.addEventListener("submit", function (e) { e.preventDefault(); send.click(); });
    dlg.addEventListener("cancel", function () { setTimeout(function () { dlg.remove(); }, 0); });
    function insert(image) {
      var img = el("img", { src: image.url, alt: image.alt || "", loading: "lazy" });
      if (image.width) { img.setAttribute("width", image.width); img.setAttribute("height", image.height); }
      box.focus();
      if (range) { sel.removeAllRanges(); sel.addRange(range); }
      document.execCommand("insertHTML", false, img.outerHTML);
      if (!box.contains(box.querySelector("img[src='" + image.url + "']"))) box.appendChild(img);
      sync(); done();
    }
    send.addEventListener("click", function () {
      error.textContent = "";
      if (!file.files.length) { error.textContent = L.needFile; file.focus(); return; }
      if (!alt.value.trim()) { error.textContent = L.needAlt; alt.focus(); return; }
      var data = new FormData(); data.append("file", file.files[0]); data.append("alt", alt.value.trim());
      send.disabled = true; status.textContent = L.uploading;
      fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf ? csrf.value : "", "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          send.disabled = false; status.textContent = "";
          if (!res.ok) { error.textContent = res.body.error || L.failed; return; }
          insert(res.body);
        })
        .catch(function () { send.disabled = false; status.textContent = ""; error.textContent = L.failed; });
    });
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (!j.images.length) { grid.appendChild(el("li", { "class": "muted small" }, L.none)); return; }
        j.images.forEach(function (image) {
          var li = el("li"), b = el("button", { type: "button", title: image.alt, "aria-label": image.alt || image.url });
          b.appendChild(el("img", { src: image.url, alt: "" }));
          b.addEventListener("click", function () { insert(image); });
          li.appendChild(b); grid.appendChild(li);
        });
      })
      .catch(function () { grid.appendChild(el("li", { "class": "muted small" }, L.none)); });
    dlg.showModal(); file.focus();
  }
  var style = document.createElement("style");
  style.textContent = ".rte{border:1px solid #b9c0c9;border-radius:8px;background:#fff}.rte-bar{display:flex;flex-wrap:wrap;gap:4px;padding:6px;border-bottom:1px solid #dde1e6;background:#f6f7f9;border-radius:8px 8px 0 0}.rte-box{min-height:240px;padding:12px;outline:none;line-height:1.6}.rte-box:focus{box-shadow:inset 0 0 0 2px #2563eb}.rte-box img{max-width:100%}.rte textarea{border:0!important;border-radius:0 0 8px 8px!important;font-family:ui-monospace,monospace}.rte-dialog{width:min(560px,calc(100vw - 32px));border:0;border-radius:10px;padding:20px;box-shadow:0 12px 40px rgba(0,0,0,.25)}.rte-dialog::backdrop{background:rgba(17,20,24,.45)}.rte-dialog h2{margin-top:0}.rte-dialog input[type=text],.rte-dialog input[type=file]{width:100%}.rte-error{color:#b42318;font-weight:600;margin:0 0 8px}.rte-dialog .btn-row{margin-bottom:16px}.rte-dialog h3{font-size:1rem;margin:16px 0 8px}.rte-images li.muted{grid-column:1/-1}.rte-error:empty,.rte-status:empty{display:none}.rte-images{list-style:none;padding:0;display:grid;gap:8px;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));max-height:240px;overflow:auto}.rte-images button{display:block;width:100%;padding:0;border:2px solid transparent;border-radius:6px;background:none;cursor:pointer}.rte-images button:focus-visible,.rte-images button:hover{border-color:#2563eb}.rte-images img{display:block;width:100%;height:80px;object-fit:cover;border-radius:4px}";
  document.head.appendChild(style);
})();
