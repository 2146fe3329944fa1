// Public intake form: "use my location" fills the hidden latitude/longitude from the browser.
// The page works without it (the button stays hidden when geolocation is unavailable).
(function () {
  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  if (!button || !status || !lat || !lon || !("geolocation" in navigator)) return;
  button.hidden = false;
  if (lat.value && lon.value) status.textContent = status.dataset.located;
  button.addEventListener("click", function () {
    status.textContent = status.dataset.locating;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        status.textContent = status.dataset.located;
        button.disabled = false;
      },
      function () {
        lat.value = "";
        lon.value = "";
        status.textContent = status.dataset.failed;
        button.disabled = false;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
    );
  });
})();
