/* The replay: one replication's own visit log, played back (servsim.teach.replay builds the list).
 *
 *   var replay = servsimReplay.mount(element, events, {speed: 30});
 *   replay.play(); replay.pause(); replay.step(); replay.setSpeed(60); replay.seek(ms);
 *   replay.load(otherEvents);          // another cell, same clock position
 *
 * Callers are dots in the queue (as many as fit the width, then "+N more"), agents are seats, a
 * caller who abandons leaves the queue at the time the engine recorded and fades out above it.
 * Speed is simulated seconds per real second: changing it changes nothing but the clock's pace.
 * The element carries the state for anyone to read: data-time (seconds from the window start),
 * data-clock, data-queue (callers waiting), data-busy (seats busy), data-playing, data-speed and
 * data-updated-ms (performance.now() of the last drawing).
 * No framework, no network: the component draws inline SVG into the element it is given.
 */
(function (root) {
  "use strict";
  var SPEEDS = [1, 5, 10, 30, 60, 120, 300];
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f6feb", "#bf3989", "#8250df", "#1a7f37"];
  var uid = 0;

  function decode(ev) {
    var n = ev.a.length, A = new Float64Array(n), Q = new Float64Array(n), S = new Float64Array(n), t = 0;
    for (var i = 0; i < n; i++) {
      t += ev.a[i];
      A[i] = t;
      Q[i] = ev.w[i] < 0 ? Infinity : t + ev.w[i];
      S[i] = ev.o[i] !== 0 ? NaN : (ev.h[i] < 0 ? Infinity : Q[i] + ev.h[i]);
    }
    var times = [];
    for (i = 0; i < n; i++) {
      [A[i], Q[i], S[i]].forEach(function (x) { if (isFinite(x) && x > 0 && x <= ev.length * 1000) times.push(x); });
    }
    times.sort(function (x, y) { return x - y; });
    var unique = times.filter(function (x, j) { return j === 0 || x !== times[j - 1]; });
    return { A: A, Q: Q, S: S, times: unique, n: n };
  }

  function clock(seconds) {
    var s = Math.floor(seconds + 1e-9), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    var pad = function (x) { return (x < 10 ? "0" : "") + x; };
    return pad(h) + ":" + pad(m) + ":" + pad(s % 60);
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  /* (queue, busy) at ms: the rule of servsim.teach.replay.levels. */
  function levels(d, ms) {
    var q = 0, b = 0;
    for (var i = 0; i < d.n; i++) {
      if (d.A[i] <= ms && ms < d.Q[i]) q++;
      else if (!isNaN(d.S[i]) && d.Q[i] <= ms && ms < d.S[i]) b++;
    }
    return [q, b];
  }

  function mount(host, events, options) {
    options = options || {};
    uid += 1;
    var id = "replay" + uid;
    var state = { ev: events, d: decode(events), t: 0, playing: false, speed: options.speed || 30, last: null,
                  raf: null };
    host.classList.add("replay");
    host.innerHTML = "";
    var bar = el("div", { "class": "replay-controls" });
    var play = el("button", { type: "button", "class": "replay-play", "aria-pressed": "false" }, "Play");
    var step = el("button", { type: "button", "class": "replay-step" }, "Step");
    var speedLabel = el("label", { "for": id + "-speed" }, "Speed ");
    var speed = el("select", { id: id + "-speed", "class": "replay-speed" });
    SPEEDS.forEach(function (s) { speed.appendChild(el("option", { value: String(s) }, s + "\u00d7")); });
    speedLabel.appendChild(speed);
    var clockOut = el("output", { "class": "replay-clock", "aria-live": "off", "for": id + "-time" });
    var timeLabel = el("label", { "for": id + "-time", "class": "replay-time-label" }, "Replay time");
    var time = el("input", { type: "range", id: id + "-time", "class": "replay-time", min: "0", step: "1" });
    [play, step, speedLabel, timeLabel, time, clockOut].forEach(function (x) { bar.appendChild(x); });
    var stage = el("div", { "class": "replay-stage" });
    var figure = svg("svg", { "class": "replay-svg", role: "img", "aria-labelledby": id + "-status" });
    stage.appendChild(figure);
    var status = el("p", { "class": "replay-status", id: id + "-status", "aria-live": "polite" });
    var legend = el("p", { "class": "replay-legend" });
    host.appendChild(bar);
    host.appendChild(stage);
    host.appendChild(status);
    host.appendChild(legend);

    function setupTime() {
      time.max = String(Math.round(state.ev.length));
      var seg = state.ev.segments;
      legend.innerHTML = "";
      var items = seg.length > 1 ? seg.map(function (g, i) { return [COLOURS[i % COLOURS.length], g]; })
                                 : [[COLOURS[0], "caller"]];
      items.push(["#cf222e", "abandoning"]);
      items.forEach(function (it) {
        var k = el("span", { "class": "key" });
        k.appendChild(el("span", { "class": "swatch", style: "background:" + it[0] }));
        k.appendChild(document.createTextNode(it[1]));
        legend.appendChild(k);
      });
      legend.appendChild(el("span", { "class": "key" }, "seat: agent (grey outline: off duty)"));
    }

    function duty(pool, ms) {
      var n = null;
      (pool.duty || []).forEach(function (d) { if (d[0] <= ms) n = d[1]; });
      return n === null ? pool.seats : n;
    }

    function draw() {
      var ev = state.ev, d = state.d, ms = state.t * 1000;
      var queue = [], seated = {}, leaving = [], busy = 0;
      var fade = Math.max(2000, 1500 * state.speed);
      for (var i = 0; i < d.n; i++) {
        if (d.A[i] <= ms && ms < d.Q[i]) queue.push(i);
        else if (!isNaN(d.S[i]) && d.Q[i] <= ms && ms < d.S[i]) { busy++; seated[ev.p[i] + ":" + ev.s[i]] = i; }
        else if (ev.o[i] === 1 && d.Q[i] <= ms && ms < d.Q[i] + fade) leaving.push(i);
      }
      var prio = ev.priority || [];
      queue.sort(function (x, y) { return (prio[ev.g[y]] || 0) - (prio[ev.g[x]] || 0) || d.A[x] - d.A[y]; });
      var width = Math.max(280, Math.round(stage.getBoundingClientRect().width) || 560);
      var seatW = width < 480 ? 26 : 34, gap = width < 480 ? 6 : 8, top = 24;
      var cols = Math.max(4, Math.floor((width - 16 + gap) / (seatW + gap)));
      var dots = Math.max(6, Math.floor((width - 110) / 20));
      var rows = [];
      ev.pools.forEach(function (p) { rows.push(Math.ceil(Math.max(p.seats, 1) / cols)); });
      var seatsH = rows.reduce(function (s, r) { return s + r * (seatW + gap) + 22; }, 0);
      var height = top + 50 + seatsH;
      figure.setAttribute("viewBox", "0 0 " + width + " " + height);
      while (figure.firstChild) figure.removeChild(figure.firstChild);
      var title = svg("text", { x: 8, y: 16, "class": "replay-caption" });
      title.textContent = "Queue";
      figure.appendChild(title);
      var shown = Math.min(queue.length, dots);
      for (var j = 0; j < shown; j++) {
        var k = queue[j];
        figure.appendChild(svg("circle", { cx: 20 + j * 20, cy: top + 20, r: 8,
                                           fill: COLOURS[ev.g[k] % COLOURS.length] }));
      }
      if (queue.length > dots) {
        var more = svg("text", { x: 20 + dots * 20 - 4, y: top + 25, "class": "replay-more" });
        more.textContent = "+" + (queue.length - dots) + " more";
        figure.appendChild(more);
      }
      if (!queue.length) {
        var empty = svg("text", { x: 12, y: top + 25, "class": "replay-empty" });
        empty.textContent = "nobody waiting";
        figure.appendChild(empty);
      }
      leaving.forEach(function (k, n) {
        var age = (ms - d.Q[k]) / fade;
        var c = svg("circle", { cx: width - 20 - (n % 8) * 18, cy: top + 20 - 14 * age, r: 7, fill: "#cf222e",
                                opacity: String(Math.max(0, 1 - age)) });
        figure.appendChild(c);
      });
      var y = top + 60;
      ev.pools.forEach(function (p, pi) {
        var label = svg("text", { x: 8, y: y, "class": "replay-caption" });
        var on = duty(p, ms);
        label.textContent = p.name + (p.kind === "agents" ? " (" + on + " on duty)" : " (" + p.kind + ")");
        figure.appendChild(label);
        y += 8;
        for (var s = 0; s < p.seats; s++) {
          var x = 8 + (s % cols) * (seatW + gap), yy = y + Math.floor(s / cols) * (seatW + gap);
          var who = seated[pi + ":" + s];
          var off = s >= on && who === undefined;
          figure.appendChild(svg("rect", { x: x, y: yy, width: seatW, height: seatW, rx: 6,
                                           "class": off ? "seat off" : (who === undefined ? "seat idle" : "seat busy") }));
          if (who !== undefined) {
            figure.appendChild(svg("circle", { cx: x + seatW / 2, cy: yy + seatW / 2, r: 9,
                                               fill: COLOURS[ev.g[who] % COLOURS.length] }));
          }
        }
        y += rows[pi] * (seatW + gap) + 22;
      });
      var seats = ev.pools.reduce(function (s, p) { return s + p.seats; }, 0);
      host.dataset.time = state.t.toFixed(3);
      host.dataset.clock = clock(ev.t0 + state.t);
      host.dataset.queue = String(queue.length);
      host.dataset.busy = String(busy);
      host.dataset.playing = state.playing ? "true" : "false";
      host.dataset.speed = String(state.speed);
      host.dataset.updatedMs = performance.now().toFixed(1);
      clockOut.textContent = clock(ev.t0 + state.t);
      time.value = String(Math.floor(state.t));
      time.setAttribute("aria-valuetext", clock(ev.t0 + state.t));
      status.textContent = clock(ev.t0 + state.t) + ": " + queue.length + " waiting, " + busy + " of " + seats +
        " seats busy";
    }

    function frame(now) {
      if (!state.playing) return;
      if (state.last !== null) state.t = Math.min(state.ev.length, state.t + (now - state.last) / 1000 * state.speed);
      state.last = now;
      draw();
      if (state.t >= state.ev.length) { pause(); return; }
      state.raf = requestAnimationFrame(frame);
    }

    function playIt() {
      if (state.playing) return;
      if (state.t >= state.ev.length) state.t = 0;
      state.playing = true;
      state.last = null;
      play.textContent = "Pause";
      play.setAttribute("aria-pressed", "true");
      draw();
      state.raf = requestAnimationFrame(frame);
      changed();
    }

    function pause() {
      state.playing = false;
      if (state.raf) cancelAnimationFrame(state.raf);
      state.raf = null;
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
      draw();
      changed();
    }

    function stepIt() {
      if (state.playing) pause();
      var ms = state.t * 1000, times = state.d.times, lo = 0, hi = times.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (times[mid] <= ms + 1e-6) lo = mid + 1; else hi = mid; }
      if (lo < times.length) state.t = times[lo] / 1000;
      draw();
      changed();
    }

    function seek(ms) { state.t = Math.max(0, Math.min(state.ev.length, ms / 1000)); state.last = null; draw(); }

    function setSpeed(x) {
      state.speed = +x;
      var known = SPEEDS.indexOf(state.speed) >= 0;
      if (!known) speed.appendChild(el("option", { value: String(x) }, x + "\u00d7"));
      speed.value = String(state.speed);
      draw();
      changed();
    }

    function changed() { if (options.onChange) options.onChange(api); }

    play.addEventListener("click", function () { if (state.playing) pause(); else playIt(); });
    step.addEventListener("click", stepIt);
    speed.addEventListener("change", function () { setSpeed(speed.value); });
    time.addEventListener("input", function () { seek(+time.value * 1000); changed(); });

    var api = {
      play: playIt, pause: pause, step: stepIt, seek: seek, setSpeed: setSpeed,
      load: function (events2) {
        state.ev = events2;
        state.d = decode(events2);
        state.t = Math.min(state.t, events2.length);
        setupTime();
        draw();
      },
      time: function () { return state.t; },
      speed: function () { return state.speed; },
      playing: function () { return state.playing; },
      levels: function (ms) { return levels(state.d, ms); },
      redraw: draw
    };
    setupTime();
    speed.value = String(state.speed);
    if (SPEEDS.indexOf(state.speed) < 0) setSpeed(state.speed);
    if (options.time) state.t = Math.min(options.time, events.length);
    draw();
    host.servsimReplay = api;
    return api;
  }

  root.servsimReplay = { mount: mount, decode: decode, levels: levels, clock: clock };
})(typeof window !== "undefined" ? window : this);
