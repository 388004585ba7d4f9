/*
 * /live/<game id>: one game as it is played, from GET /api/live/<game id> every
 * second (the first answer comes embedded in #live-game-data). The board is drawn by
 * board.js on canvas#board; each player's section.thought[data-slot] shows its score,
 * its latest rationale and the round it was for, and, while its move is awaited,
 * "waiting for <model> for N s" (span.waiting, data-seconds = N), counted from the
 * document's thinking_since on the server's clock (server_time gives the offset) and
 * ticking between polls. When the game is over the page goes to its replay
 * (data-replay-url). Model text is inserted with textContent only.
 */
(function () {
  "use strict";

  var root = document.getElementById("live-game");
  if (!root || !window.SnakeBoard || !window.SnakeBench) return;
  var SB = window.SnakeBoard;
  var canvas = document.getElementById("board");
  var roundEl = document.getElementById("live-round");
  var gameStatusEl = document.getElementById("live-game-status");
  var statusEl = document.getElementById("live-status");
  var url = root.getAttribute("data-url");
  var replayUrl = root.getAttribute("data-replay-url");
  var POLL_MS = 1000;
  var TICK_MS = 250;
  var skew = 0; // server clock minus this browser's, in seconds
  var latest = null;

  function now() { return Date.now() / 1000 + skew; }

  function section(slot) {
    return root.querySelector('section.thought[data-slot="' + String(slot) + '"]');
  }

  function showWaits() {
    if (!latest) return;
    Object.keys(latest.players || {}).forEach(function (slot) {
      var box = section(slot);
      if (!box) return;
      var waiting = box.querySelector(".waiting");
      var since = latest.players[slot].thinking_since;
      if (since === null || since === undefined || latest.finished) {
        waiting.hidden = true;
        waiting.removeAttribute("data-seconds");
        return;
      }
      var seconds = Math.max(0, Math.floor(now() - since));
      var model = (latest.models || {})[slot] || ("snake " + slot);
      waiting.textContent = "waiting for " + model + " for " + seconds + " s \u00b7 ";
      waiting.setAttribute("data-seconds", String(seconds));
      waiting.hidden = false;
    });
  }

  function render(game) {
    latest = game;
    if (typeof game.server_time === "number") skew = game.server_time - Date.now() / 1000;
    if (game.finished) {
      if (statusEl) statusEl.textContent = "· the game is over: opening its replay";
      window.location.assign(replayUrl);
      return false;
    }
    gameStatusEl.textContent = game.status;
    gameStatusEl.setAttribute("data-status", game.status);
    roundEl.textContent = "round " + game.round + " / " + game.max_rounds;
    var scores = (game.state && game.state.scores) || {};
    Object.keys(game.players || {}).forEach(function (slot) {
      var box = section(slot);
      if (!box) return;
      var p = game.players[slot];
      box.querySelector(".score").textContent = String(scores[slot] || 0);
      box.querySelector(".rationale").textContent = p.rationale || "";
      box.querySelector(".rationale-round").textContent =
        p.rationale_round ? "round " + p.rationale_round : "no move yet";
    });
    if (game.state) SB.draw(canvas, game.state, game.width, game.height, game.round);
    showWaits();
    return true;
  }

  var initial = document.getElementById("live-game-data");
  if (initial) {
    try { render(JSON.parse(initial.textContent)); } catch (err) { /* the poll will fix it */ }
  }
  window.setInterval(showWaits, TICK_MS);
  window.SnakeBench.poll(
    url,
    POLL_MS,
    function (game) {
      if (statusEl && !game.finished) statusEl.textContent = "";
      return render(game);
    },
    function (err) { if (statusEl) statusEl.textContent = "Refresh failed: " + err.message; }
  );
})();
