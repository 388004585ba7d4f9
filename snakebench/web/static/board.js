/*
 * SnakeBench board drawing, shared by the replay viewer (/games/<id>) and the live
 * page (/live). Plain JavaScript, no dependencies: it defines window.SnakeBoard.
 *
 * DRAWING CONTRACT (browser tests read canvas pixels; keep it stable)
 * -------------------------------------------------------------------
 * - The canvas's own pixel size is width*cell by height*cell (CSS may scale it on
 *   screen; every coordinate below is in canvas pixels, i.e. canvas.width/height).
 * - The canvas carries these attributes, set by SnakeBoard.setup():
 *     data-cell   = cell size in px (each board cell is a cell x cell square)
 *     data-width  = board width in cells,  data-height = board height in cells
 *     data-y-up   = "true": y grows upward, as in the rules ((0, 0) is the bottom-left
 *                   cell, UP is y + 1) and as the original SnakeBench frontend draws
 *                   it (flippedY = height - 1 - y)
 *     data-round  = the round shown (set by the viewer / live page on every draw)
 * - x grows rightward. Cell (x, y) covers canvas pixels
 *     left = x * cell,  top = (height - 1 - y) * cell
 *   and is filled as a (cell - 1) x (cell - 1) square from (left, top): a 1 px gap of
 *   GAP colour lies on its right and bottom edges, never inside. The centre pixel
 *   (left + cell/2, top + cell/2) always has the cell's colour.
 * - Colours (every snake, alive or dead, is drawn the same way):
 *     empty cell #f1f5f9, apple #dc2626 (the whole cell),
 *     snake "0": head #1d4ed8, body #60a5fa
 *     snake "1": head #c2410c, body #fb923c
 *   (more snakes cycle through further colours). Order: empty cells, apples, bodies,
 *   then heads, so a head always shows on top.
 */
(function () {
  "use strict";

  var COLORS = {
    empty: "#f1f5f9",
    gap: "#e2e8f0",
    apple: "#dc2626",
    snakes: [
      { head: "#1d4ed8", body: "#60a5fa" },
      { head: "#c2410c", body: "#fb923c" },
      { head: "#15803d", body: "#4ade80" },
      { head: "#7e22ce", body: "#c084fc" }
    ]
  };
  var DEFAULT_CELL = 40;

  function snakeColors(id, index) {
    var n = parseInt(id, 10);
    if (isNaN(n)) n = index;
    return COLORS.snakes[((n % COLORS.snakes.length) + COLORS.snakes.length) % COLORS.snakes.length];
  }

  /* Size the canvas for a width x height board and publish the contract attributes. */
  function setup(canvas, width, height, cell) {
    cell = cell || parseInt(canvas.getAttribute("data-cell"), 10) || DEFAULT_CELL;
    canvas.width = width * cell;
    canvas.height = height * cell;
    canvas.setAttribute("data-cell", String(cell));
    canvas.setAttribute("data-width", String(width));
    canvas.setAttribute("data-height", String(height));
    canvas.setAttribute("data-y-up", "true");
    return cell;
  }

  function fillCell(ctx, x, y, height, cell, color) {
    if (x < 0 || y < 0 || y >= height) return; // off the board (a wall death): not drawn
    ctx.fillStyle = color;
    ctx.fillRect(x * cell, (height - 1 - y) * cell, cell - 1, cell - 1);
  }

  /* Draw one state {snakes: {"0": [[x, y], ...]}, apples: [[x, y]], ...}. */
  function draw(canvas, state, width, height, round) {
    var cell = parseInt(canvas.getAttribute("data-cell"), 10) || DEFAULT_CELL;
    if (canvas.width !== width * cell || canvas.height !== height * cell ||
        canvas.getAttribute("data-width") !== String(width) ||
        canvas.getAttribute("data-height") !== String(height)) {
      setup(canvas, width, height, cell);
    }
    var ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.fillStyle = COLORS.gap;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    var x, y, i;
    for (x = 0; x < width; x++) {
      for (y = 0; y < height; y++) fillCell(ctx, x, y, height, cell, COLORS.empty);
    }
    state = state || {};
    var apples = state.apples || [];
    for (i = 0; i < apples.length; i++) {
      if (apples[i][0] < width) fillCell(ctx, apples[i][0], apples[i][1], height, cell, COLORS.apple);
    }
    var snakes = state.snakes || {};
    var ids = Object.keys(snakes).sort(function (a, b) { return Number(a) - Number(b); });
    ids.forEach(function (id, index) {
      var body = snakes[id] || [];
      var colors = snakeColors(id, index);
      for (var j = body.length - 1; j >= 1; j--) {
        if (body[j][0] < width) fillCell(ctx, body[j][0], body[j][1], height, cell, colors.body);
      }
    });
    ids.forEach(function (id, index) {
      var body = snakes[id] || [];
      if (body.length && body[0][0] < width) {
        fillCell(ctx, body[0][0], body[0][1], height, cell, snakeColors(id, index).head);
      }
    });
    if (round !== undefined && round !== null) canvas.setAttribute("data-round", String(round));
  }

  function sameState(a, b) {
    if (!a || !b) return false;
    return ["snakes", "apples", "alive", "scores"].every(function (key) {
      return canonical(a[key]) === canonical(b[key]);
    });
  }

  function canonical(value) {
    if (value === undefined) return "null";
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonical(value[k]);
    }).join(",") + "}";
  }

  /*
   * A replay (version 1) as positions 0..rounds: position 0 is the initial state (no
   * moves yet); position p >= 1 is the state after round p - 1 with that round's
   * moves and events. Both frame forms are read as the engine's replay parser reads
   * them: the newer one (frames[i].state after round i; rounds = frames.length) and
   * the older one (frames[i].state before round i, so frames[0].state equals
   * initial_state, and a trailing frame holds the final state: rounds =
   * game.rounds_played, else frames.length - 1).
   */
  function positions(replay) {
    var frames = replay.frames || [];
    var initial = replay.initial_state || (frames[0] && frames[0].state) || {};
    var old = frames.length > 0 && sameState(frames[0].state, initial);
    var count = frames.length;
    if (old) {
      count = frames.length > 1 ? frames.length - 1 : frames.length;
      var played = replay.game && replay.game.rounds_played;
      if (typeof played === "number" && played > 0 && played <= frames.length) count = played;
    }
    var out = [{ round: 0, state: initial, moves: null, events: [], roundIndex: null }];
    for (var i = 0; i < count; i++) {
      var frame = frames[i];
      var state = frame.state;
      if (old) state = (frames[i + 1] && frames[i + 1].state) || frame.state;
      out.push({
        round: i + 1,
        roundIndex: frame.round !== undefined ? frame.round : i,
        state: state,
        moves: frame.moves || null,
        events: frame.events || []
      });
    }
    return out;
  }

  function board(replay) {
    var b = (replay.game && replay.game.board) || {};
    return { width: b.width || 10, height: b.height || 10 };
  }

  window.SnakeBoard = {
    COLORS: COLORS,
    setup: setup,
    draw: draw,
    positions: positions,
    board: board,
    snakeColors: snakeColors
  };
})();
