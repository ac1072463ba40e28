// The segment builder's structural actions (add or remove a condition or group, change a field
// or an operator) re-render the whole builder from the values they send. So that no change is
// lost while one is in flight:
// - they take over the form's request slot at once (hx-sync "replace": a count preview still
//   in flight is abandoned, since the structural answer brings the count anyway; queueing
//   behind it instead would let a second click queue too, and be dropped when the first answer
//   replaces the button it came from);
// - the builder is disabled until the answer is in (hx-disabled-elt), so nothing can be typed
//   or clicked that the re-render would drop;
// - a count preview that would start meanwhile (a typing pause timing out) is skipped here:
//   previews replace whatever runs on the form, and would abort the structural request. This
//   listens to htmx:confirm, which comes before htmx's hx-sync handling (htmx:beforeRequest
//   comes after it, once the structural request would already be aborted).
document.addEventListener("htmx:confirm", function (event) {
  var elt = event.detail.elt;
  var form = document.getElementById("segment-form");
  if (!form || !form.contains(elt) || elt.hasAttribute("data-structural")) return;
  if (form.querySelector("#segment-builder > fieldset[disabled]")) {
    event.preventDefault();
  }
});
