// standin's vault console: the Copy buttons (the redirect URI to register
// at the brand). Without JavaScript the button stays hidden and the URI
// can be selected and copied by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { button.textContent = "Copied"; };
      var byHand = function () {
        source.focus();
        source.select();
        button.textContent = "Press Ctrl+C to copy";
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(done, byHand);
      } else {
        byHand();
      }
    });
  });
});
