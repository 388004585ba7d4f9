/*
 * The replay viewer on /games/<id>. Reads the replay embedded in
 * <script type="application/json" id="replay-data"> or, when that is absent, fetches
 * it from the canvas's data-replay-url (/api/games/<id>/replay). Board drawing lives
 * in board.js (see the drawing contract there).
 *
 * Position p (the scrub value, 0..frames.length) is the state after p rounds: p = 0
 * is the initial state; for p >= 1 #moves shows the moves of round p - 1 (0-based)
 * that led to it. #round and canvas[data-round] show p.
 * Keyboard: space plays/pauses, left/right arrows step.
 * Model text (names, rationales) is inserted with textContent only.
 */
(function () {
  "use strict";

  var canvas = document.getElementById("board");
  if (!canvas || !window.SnakeBoard) return;
  var SB = window.SnakeBoard;

  var playBtn = document.getElementById("play");
  var pauseBtn = document.getElementById("pause");
  var backBtn = document.getElementById("step-back");
  var fwdBtn = document.getElementById("step-forward");
  var scrub = document.getElementById("scrub");
  var speed = document.getElementById("speed");
  var roundEl = document.getElementById("round");
  var movesEl = document.getElementById("moves");
  var statusEl = document.getElementById("replay-status");

  var replay = null;
  var steps = [];
  var size = { width: 10, height: 10 };
  var pos = 0;
  var timer = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function playerName(slot) {
    var p = (replay.players || {})[slot] || {};
    return p.name || p.model_id || ("snake " + slot);
  }

  function fmtCost(value) {
    if (value === undefined || value === null) return "-";
    return "$" + Number(value).toFixed(6);
  }

  function renderMoves(step) {
    while (movesEl.firstChild) movesEl.removeChild(movesEl.firstChild);
    if (!step.moves) {
      movesEl.appendChild(el("p", "muted", "Initial position: no moves yet."));
      return;
    }
    var slots = Object.keys(step.moves).sort(function (a, b) { return Number(a) - Number(b); });
    slots.forEach(function (slot) {
      var move = step.moves[slot] || {};
      var box = el("div", "move");
      box.setAttribute("data-slot", slot);
      var h = el("h3");
      var sw = el("span", "swatch s" + slot);
      h.appendChild(sw);
      h.appendChild(document.createTextNode(playerName(slot) + ": "));
      h.appendChild(el("span", "move-dir mono", move.move || "-"));
      box.appendChild(h);
      var meta = "tokens in " + (move.input_tokens || 0) + " / out " + (move.output_tokens || 0) +
        " \u00b7 cost " + fmtCost(move.cost);
      if (move.reasoning_tokens) meta += " (" + move.reasoning_tokens + " reasoning)";
      if (move.provider_cost !== undefined && move.provider_cost !== null) {
        meta += " \u00b7 provider-reported " + fmtCost(move.provider_cost);
      }
      if (move.parse) meta += " \u00b7 parse " + move.parse;
      if (move.invalid) meta += " \u00b7 invalid move";
      if (move.wait_ms) meta += " \u00b7 waited " + (move.wait_ms / 1000).toFixed(1) + " s for a provider slot";
      box.appendChild(el("div", "meta", meta));
      if (move.reasoning) {
        var details = el("details", "reasoning");
        details.appendChild(el("summary", null, "Reasoning (as the provider shows it)"));
        var summary = el("pre", "rationale");
        summary.textContent = move.reasoning;
        details.appendChild(summary);
        box.appendChild(details);
      }
      var pre = el("pre", "rationale");
      pre.textContent = move.rationale || "";
      box.appendChild(pre);
      movesEl.appendChild(box);
    });
  }

  function show(p) {
    if (!steps.length) return;
    pos = Math.max(0, Math.min(steps.length - 1, p));
    var step = steps[pos];
    SB.draw(canvas, step.state, size.width, size.height, pos);
    scrub.value = String(pos);
    roundEl.textContent = pos + " / " + (steps.length - 1);
    roundEl.setAttribute("data-round", String(pos));
    var scores = (step.state && step.state.scores) || {};
    Object.keys(scores).forEach(function (slot) {
      var s = document.getElementById("score-" + slot);
      if (s) s.textContent = String(scores[slot]);
    });
    if (movesEl) renderMoves(step);
  }

  function interval() {
    var factor = parseFloat(speed && speed.value) || 1;
    return Math.max(20, 500 / factor);
  }

  function tick() {
    if (pos >= steps.length - 1) { pause(); return; }
    show(pos + 1);
    timer = window.setTimeout(tick, interval());
  }

  function play() {
    if (timer !== null || !steps.length) return;
    if (pos >= steps.length - 1) show(0);
    canvas.setAttribute("data-playing", "true");
    timer = window.setTimeout(tick, interval());
  }

  function pause() {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    canvas.setAttribute("data-playing", "false");
  }

  function start(data) {
    replay = data;
    steps = SB.positions(replay);
    size = SB.board(replay);
    SB.setup(canvas, size.width, size.height);
    scrub.min = "0";
    scrub.max = String(steps.length - 1);
    canvas.setAttribute("data-frames", String(steps.length - 1));
    if (statusEl) statusEl.textContent = "";
    show(0);
    canvas.setAttribute("data-ready", "true");
  }

  playBtn.addEventListener("click", play);
  pauseBtn.addEventListener("click", pause);
  backBtn.addEventListener("click", function () { pause(); show(pos - 1); });
  fwdBtn.addEventListener("click", function () { pause(); show(pos + 1); });
  scrub.addEventListener("input", function () { pause(); show(parseInt(scrub.value, 10) || 0); });
  if (speed) speed.addEventListener("change", function () {
    if (timer !== null) { window.clearTimeout(timer); timer = window.setTimeout(tick, interval()); }
  });
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "select" || tag === "textarea" || (t && t.isContentEditable)) return;
    if (event.key === " " || event.code === "Space") {
      event.preventDefault();
      if (tag === "button") t.blur(); // or the button's own click would follow on keyup
      if (timer === null) play(); else pause();
    } else if (event.key === "ArrowRight") {
      event.preventDefault(); pause(); show(pos + 1);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault(); pause(); show(pos - 1);
    }
  });

  var embedded = document.getElementById("replay-data");
  if (embedded) {
    try {
      start(JSON.parse(embedded.textContent));
    } catch (err) {
      if (statusEl) statusEl.textContent = "Could not read the replay: " + err;
    }
  } else if (canvas.getAttribute("data-replay-url")) {
    fetch(canvas.getAttribute("data-replay-url"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(start)
      .catch(function (err) {
        if (statusEl) statusEl.textContent = "Could not load the replay: " + err.message;
      });
  }
})();
