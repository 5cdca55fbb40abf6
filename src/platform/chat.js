// standin's chat page: follow the transcript and the timeline over
// Server-Sent Events and show each new version (the server renders and
// escapes them). A step opened in the timeline stays open, and the focus
// stays where it was: the elements keep their ids across versions.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var live = document.getElementById("live");
  var url = document.body.getAttribute("data-updates");
  if (!live || !url || !window.EventSource) {
    return;
  }
  var source = new EventSource(url);
  source.addEventListener("transcript", function (event) {
    var open = Array.prototype.map.call(
      live.querySelectorAll("details[open]"),
      function (d) { return d.id; }
    );
    var active = document.activeElement;
    var focused = active && live.contains(active) ? active.id : "";
    live.innerHTML = event.data;
    open.forEach(function (id) {
      var d = id && document.getElementById(id);
      if (d) {
        d.open = true;
      }
    });
    var f = focused && document.getElementById(focused);
    if (f) {
      f.focus({ preventScroll: true });
    }
  });
});
