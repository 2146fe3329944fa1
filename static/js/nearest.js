// Public nearest-points page: "use my location" asks the browser for its position and submits it as
// lat/lon query parameters. Nothing is stored; without geolocation the button stays hidden.
(function () {
  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  var form = document.getElementById("locate-form");
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  if (!button || !status || !form || !lat || !lon || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = status.dataset.locating;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        form.submit();
      },
      function () {
        status.textContent = status.dataset.failed;
        button.disabled = false;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 }
    );
  });
})();
