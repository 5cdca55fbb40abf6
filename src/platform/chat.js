// standin's chat page: follow the transcript and the timeline over
// Server-Sent Events and show each new version (the server renders and
// escapes them).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var live = document.getElementById("live");
  var url = document.body.getAttribute("data-updates");
  if (!live || !url || !window.EventSource) {
    return;
  }
  var source = new EventSource(url);
  source.addEventListener("transcript", function (event) {
    live.innerHTML = event.data;
  });
});
