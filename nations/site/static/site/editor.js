/* A small rich-text editor for page text: a contenteditable area over the form's <textarea
   data-editor>, with a toolbar. The textarea stays the source of truth (and the fallback without
   JavaScript); the server sanitises whatever arrives (nh3), so this file has no safety role. */
(function () {
  var L = document.documentElement.lang === "fr"
    ? { b: "Gras", i: "Italique", h2: "Titre", h3: "Sous-titre", ul: "Liste", ol: "Liste numérotée", q: "Citation", a: "Lien", img: "Image", html: "HTML", url: "Adresse du lien (https://…)", src: "Adresse de l'image (depuis Images)", alt: "Texte alternatif" }
    : { b: "Bold", i: "Italic", h2: "Heading", h3: "Subheading", ul: "List", ol: "Numbered list", q: "Quote", a: "Link", img: "Image", html: "HTML", url: "Link address (https://…)", src: "Image address (from Images)", alt: "Alternative text" };
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
    button(L.img, L.img, function () {
      var u = prompt(L.src); if (!u) return; var alt = prompt(L.alt) || "";
      var img = document.createElement("img"); img.src = u; img.alt = alt;
      document.execCommand("insertHTML", false, img.outerHTML);
    });
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
  var style = document.createElement("style");
  style.textContent = ".rte{border:1px solid #b9c0c9;border-radius:8px;background:#fff}.rte-bar{display:flex;flex-wrap:wrap;gap:4px;padding:6px;border-bottom:1px solid #dde1e6;background:#f6f7f9;border-radius:8px 8px 0 0}.rte-box{min-height:240px;padding:12px;outline:none;line-height:1.6}.rte-box:focus{box-shadow:inset 0 0 0 2px #2563eb}.rte-box img{max-width:100%}.rte textarea{border:0!important;border-radius:0 0 8px 8px!important;font-family:ui-monospace,monospace}";
  document.head.appendChild(style);
})();
