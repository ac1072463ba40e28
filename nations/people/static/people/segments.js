// The segment builder's structural actions (add or remove a condition or group, change a field
// or an operator) re-render the whole builder from the values they send. So that no change is
// lost while one is in flight: they queue behind each other on the form (hx-sync), the builder
// is disabled until the answer is in (hx-disabled-elt: nothing typed meanwhile can be dropped
// by the re-render), and a count preview that would start meanwhile (a typing pause timed out)
// is skipped: it would abort the structural request, since previews replace each other on the
// form, and the structural answer brings the count anyway.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail.elt;
  var form = document.getElementById("segment-form");
  if (!form || !form.contains(elt) || elt.hasAttribute("data-structural")) return;
  if (form.querySelector("#segment-builder > fieldset[disabled]")) {
    event.preventDefault();
  }
});
