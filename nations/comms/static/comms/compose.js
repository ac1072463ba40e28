/* Compose screen: show only the picker of the chosen audience; confirm before sending. */
(function () {
  function sync() {
    var picked = document.querySelector("input[name=audience]:checked");
    var value = picked ? picked.value : "";
    var seg = document.getElementById("id_segment"), list = document.getElementById("id_people_list");
    if (seg) seg.closest(".field").hidden = value !== "segment";
    if (list) list.closest(".field").hidden = value !== "list";
  }
  document.addEventListener("change", function (e) { if (e.target.name === "audience") sync(); });
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();
