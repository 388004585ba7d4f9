/*
 * Helpers shared by the pages' scripts, loaded by base.html before them. Plain
 * JavaScript, no dependencies: it defines window.SnakeBench.
 *
 * SnakeBench.poll(url, everyMs, onData, onError): every everyMs, GET url as JSON
 * (same-origin credentials, never from the cache) and hand it to onData; a failed
 * request (or HTTP error status, or onData throwing) goes to onError instead. Polling
 * goes on after an error, and after data unless onData returns false.
 */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function poll(url, everyMs, onData, onError) {
    function tick() {
      getJSON(url)
        .then(function (data) { return onData(data) !== false; })
        .catch(function (err) { onError(err); return true; })
        .then(function (again) { if (again) window.setTimeout(tick, everyMs); });
    }
    window.setTimeout(tick, everyMs);
  }

  window.SnakeBench = { getJSON: getJSON, poll: poll };
})();
