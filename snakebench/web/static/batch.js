/*
 * /batches/<id>: refreshes the numbers from GET /api/batches/<id> every 2 s while the
 * batch is active (stops once it reports finished). Updates #batch-progress
 * (data-done, data-total, its bar), the per-status counts [data-count="STATUS"],
 * #throughput, #batch-cost, #batch-status and the failures table (textContent only).
 */
(function () {
  "use strict";

  var progress = document.getElementById("batch-progress");
  if (!progress || !window.SnakeBench) return;
  var url = progress.getAttribute("data-url");
  if (!url || progress.getAttribute("data-finished") === "true") return;
  var POLL_MS = 2000;

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  function money(v) { return v === null || v === undefined ? "-" : "$" + Number(v).toFixed(4); }

  function failures(list) {
    var table = document.getElementById("failures");
    if (!table || !list) return;
    var body = table.tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    list.forEach(function (f) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-game-id", f.game_id);
      var td1 = document.createElement("td");
      var a = document.createElement("a");
      a.href = "/games/" + encodeURIComponent(f.game_id);
      a.className = "mono";
      a.textContent = String(f.game_id).slice(0, 8);
      td1.appendChild(a);
      var td2 = document.createElement("td");
      td2.textContent = f.status || "";
      var td3 = document.createElement("td");
      var pre = document.createElement("pre");
      pre.className = "error-text";
      pre.textContent = f.error || "";
      td3.appendChild(pre);
      tr.appendChild(td1); tr.appendChild(td2); tr.appendChild(td3);
      body.appendChild(tr);
    });
    var none = document.getElementById("no-failures");
    if (none) none.hidden = list.length > 0;
    table.hidden = list.length === 0;
  }

  function apply(b) {
    var total = b.total || 0, done = b.done || 0;
    progress.setAttribute("data-done", String(done));
    progress.setAttribute("data-total", String(total));
    var pct = total ? Math.round((1000 * done) / total) / 10 : 0;
    var bar = progress.querySelector(".bar");
    if (bar) bar.style.width = pct + "%";
    setText("batch-progress-label", done + " / " + total + " (" + pct + "%)");
    ["queued", "running", "completed", "failed", "void", "cancelled"].forEach(function (s) {
      var node = document.querySelector('[data-count="' + s + '"]');
      if (node) node.textContent = String(b[s] || 0);
    });
    if (b.games_per_minute !== undefined && b.games_per_minute !== null) {
      setText("throughput", Number(b.games_per_minute).toFixed(2));
    }
    setText("batch-cost", money(b.cost));
    if (b.status) setText("batch-status", b.status);
    failures(b.failures);
    progress.setAttribute("data-finished", b.finished ? "true" : "false");
    return !b.finished;
  }

  window.SnakeBench.poll(
    url,
    POLL_MS,
    function (data) {
      setText("batch-refresh", "");
      return apply(data.batch || data);
    },
    function (err) { setText("batch-refresh", "Refresh failed: " + err.message); }
  );
})();
