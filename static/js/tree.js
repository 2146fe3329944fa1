// Org tree: the first click loads children with htmx; later clicks fold and unfold them.
document.addEventListener("click", function (event) {
  var button = event.target.closest(".tree .toggle[data-children]");
  if (!button) return;
  var box = document.getElementById(button.dataset.children);
  if (!button.dataset.loaded) return; // first click: htmx fetches
  var open = button.getAttribute("aria-expanded") === "true";
  box.hidden = open;
  button.setAttribute("aria-expanded", open ? "false" : "true");
  button.textContent = open ? "＋" : "−";
});
document.body.addEventListener("htmx:afterSwap", function (event) {
  var button = document.querySelector('.tree .toggle[data-children="' + event.detail.target.id + '"]');
  if (!button) return;
  button.dataset.loaded = "1";
  button.setAttribute("aria-expanded", "true");
  button.textContent = "−";
});
