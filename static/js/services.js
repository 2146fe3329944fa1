// Request detail: picking a reply template copies its filled-in text into the reply box (which stays editable).
// Without JavaScript the picker does nothing and staff type the reply themselves.
(function () {
  document.querySelectorAll("[data-template-picker]").forEach(function (picker) {
    picker.addEventListener("change", function () {
      var target = document.getElementById(picker.dataset.templatePicker);
      if (!target || !picker.value) return;
      if (target.value.trim() && !window.confirm(picker.dataset.confirm || "替换已填写的内容？")) return;
      target.value = picker.value;
      target.focus();
    });
  });
})();
