/*
 * /live: one board per running game, refreshed from GET /api/live every second.
 * Each game is a .live-card holding canvas.board[data-game-id]; boards are drawn by
 * board.js (same drawing contract as the replay viewer; data-round is the game's
 * current round). Cards of games no longer live are removed; #live-empty shows when
 * there are none. The first list comes embedded in #live-data (no wait for a poll).
 * Each card links to its game's own live page (/live/<id>, live_game.js).
 * Model names are inserted with textContent only.
 */
(function () {
  "use strict";

  var container = document.getElementById("live-games");
  if (!container || !window.SnakeBoard || !window.SnakeBench) return;
  var SB = window.SnakeBoard;
  var empty = document.getElementById("live-empty");
  var statusEl = document.getElementById("live-status");
  var url = container.getAttribute("data-url") || "/api/live";
  var gamePath = container.getAttribute("data-game-path") || "/games/";
  var livePath = container.getAttribute("data-live-path") || "/live/";
  var POLL_MS = 1000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function findCard(id) {
    var cards = container.querySelectorAll(".live-card");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].getAttribute("data-game-id") === id) return cards[i];
    }
    return null;
  }

  function makeCard(game) {
    var card = el("div", "live-card");
    card.setAttribute("data-game-id", game.game_id);
    var players = el("div", "players");
    card.appendChild(players);
    var canvas = el("canvas", "board");
    canvas.setAttribute("data-game-id", game.game_id);
    canvas.setAttribute("data-cell", "24");
    card.appendChild(canvas);
    var info = el("div", "info muted");
    var link = el("a", null, "game " + String(game.game_id).slice(0, 8));
    link.href = gamePath + encodeURIComponent(game.game_id);
    info.appendChild(link);
    info.appendChild(el("span", "round-label"));
    info.appendChild(document.createTextNode(" \u00b7 "));
    var watch = el("a", "watch", "watch with thoughts");
    watch.href = livePath + encodeURIComponent(game.game_id);
    info.appendChild(watch);
    card.appendChild(info);
    container.appendChild(card);
    return card;
  }

  function update(card, game) {
    var players = card.querySelector(".players");
    while (players.firstChild) players.removeChild(players.firstChild);
    var scores = (game.state && game.state.scores) || {};
    (game.players || []).forEach(function (p, i) {
      if (i > 0) players.appendChild(document.createTextNode(" vs "));
      var line = el("span", "player");
      line.appendChild(el("span", "swatch s" + p.slot));
      line.appendChild(document.createTextNode(p.model + " (" + (scores[String(p.slot)] || 0) + ")"));
      players.appendChild(line);
    });
    card.querySelector(".round-label").textContent =
      " \u00b7 round " + game.round + (game.max_rounds ? " / " + game.max_rounds : "");
    var canvas = card.querySelector("canvas");
    SB.draw(canvas, game.state || {}, game.width || 10, game.height || 10, game.round);
  }

  function render(games) {
    var seen = {};
    games.forEach(function (game) {
      var id = String(game.game_id);
      seen[id] = true;
      update(findCard(id) || makeCard(game), game);
    });
    Array.prototype.forEach.call(container.querySelectorAll(".live-card"), function (card) {
      if (!seen[card.getAttribute("data-game-id")]) container.removeChild(card);
    });
    if (empty) empty.hidden = games.length > 0;
  }

  var initial = document.getElementById("live-data");
  if (initial) {
    try { render(JSON.parse(initial.textContent) || []); } catch (err) { /* poll will fix it */ }
  }
  window.SnakeBench.poll(
    url,
    POLL_MS,
    function (data) {
      render(Array.isArray(data) ? data : (data.games || []));
      if (statusEl) statusEl.textContent = "";
    },
    function (err) { if (statusEl) statusEl.textContent = "Refresh failed: " + err.message; }
  );
})();
