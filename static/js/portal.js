// Small behaviours every staff page needs, loaded after htmx by base.html.
// Widths that come from data (progress bars) are set here from data-width-pct: the Content-Security-Policy
// allows no style="" attributes, while setting element.style from our own script is allowed.
(function () {
  function applyWidths(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var found = Array.prototype.slice.call(scope.querySelectorAll("[data-width-pct]"));
    if (scope.matches && scope.matches("[data-width-pct]")) found.push(scope);
    found.forEach(function (el) {
      var pct = Math.max(0, Math.min(100, Number(el.getAttribute("data-width-pct")) || 0));
      el.style.width = pct + "%";
    });
  }
  if (window.htmx && window.htmx.onLoad) {
    window.htmx.onLoad(applyWidths); // the page itself, then every piece htmx swaps in
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { applyWidths(document); });
  } else {
    applyWidths(document);
  }
})();
