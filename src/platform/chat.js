// standin's chat page: follow the transcript over Server-Sent Events and
// show each new version of it (the server renders and escapes it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var transcript = document.getElementById("transcript");
  var url = document.body.getAttribute("data-updates");
  if (!transcript || !url || !window.EventSource) {
    return;
  }
  var source = new EventSource(url);
  source.addEventListener("transcript", function (event) {
    transcript.innerHTML = event.data;
  });
});
