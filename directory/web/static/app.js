// Small enhancements; every page works without them. No inline script anywhere (strict CSP).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    // "Use my location": fills the hidden `near` field (rounded to about 100 m) and searches.
    var locate = document.getElementById("locate");
    var near = document.getElementById("near");
    var status = document.getElementById("locate-status");
    if (locate && near && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        status.textContent = locate.dataset.locating || "";
        navigator.geolocation.getCurrentPosition(function (position) {
          near.value = position.coords.latitude.toFixed(3) + "," + position.coords.longitude.toFixed(3);
          var zip = document.getElementById("postcode");
          if (zip) zip.value = "";
          status.textContent = locate.dataset.located || "";
          var form = locate.form;
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }, function () {
          status.textContent = locate.dataset.failed || "";
        }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
      });
    }
    // A typed ZIP replaces a located search.
    var zip = document.getElementById("postcode");
    if (zip && near) zip.addEventListener("input", function () { near.value = ""; });
    // Print buttons (share page).
    document.querySelectorAll(".print-button").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    // After an htmx search, move focus to the results heading for screen readers.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "results") {
        var heading = event.detail.target.querySelector("h2");
        if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      }
    });
  });
})();
