/*
 * The "Copy link" button of the replay page: copies the game's address (the button's
 * data-path, resolved against this page's address) to the clipboard.
 *
 * navigator.clipboard where the browser offers it (a secure context: https or
 * localhost); otherwise, or if it refuses, the old way: the address in a hidden
 * textarea, selected, and document.execCommand("copy"). If that fails too, the address
 * is shown selected in a text field for the user to copy by hand. #copy-link-status
 * says which happened (and the button carries data-copied="clipboard|fallback|manual").
 */
(function () {
  "use strict";

  var button = document.getElementById("copy-link");
  if (!button) return;
  var status = document.getElementById("copy-link-status");
  var manual = document.getElementById("copy-link-manual");

  function done(how, message) {
    button.dataset.copied = how;
    if (status) status.textContent = message;
  }

  function copyByCommand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (err) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  function fallback(text) {
    if (copyByCommand(text)) {
      done("fallback", "Link copied.");
      return;
    }
    if (manual) {
      manual.hidden = false;
      manual.value = text;
      manual.focus();
      manual.select();
    }
    done("manual", "Copy the link above by hand (Ctrl+C).");
  }

  button.addEventListener("click", function () {
    var url = new URL(button.dataset.path || window.location.pathname, window.location.href).href;
    button.dataset.url = url;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(
        function () { done("clipboard", "Link copied."); },
        function () { fallback(url); }
      );
    } else {
      fallback(url);
    }
  });
})();
