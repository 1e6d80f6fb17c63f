/* A lesson page: sliders over the precomputed grid, KPI cards, the figure, the replay.
 *
 * Everything shown comes from the JSON servsim embedded (#lesson-data): every cell's mean and CI
 * half-width per KPI, its theory, its replay. Moving a slider looks a cell up; nothing is
 * computed but the drawing, so an update takes milliseconds. Labels and units come from the
 * metric registry (embedded with the data) and numbers go through servsimFormat, the port of
 * servsim's formatter. The settings live in the URL fragment (#rate=9%2Fmin&agents=10&speed=30),
 * so a reload, a bookmark or a link sent to the room restores them.
 *
 * For tests and trainers' scripts: #lesson carries data-cell (the flat cell index),
 * data-input-at / data-updated-at (performance.now() of the slider's input event and of the
 * frame after the page was redrawn) and data-update-ms (their difference); <html> carries
 * data-ready-ms when the page is interactive.
 */
(function () {
  "use strict";
  var F = window.servsimFormat;
  var data = JSON.parse(document.getElementById("lesson-data").textContent);
  var app = document.getElementById("lesson");
  var state = { index: data.parameters.map(function (p) { return p.start; }), revealed: false, guess: "" };
  var inputs = [], outputs = [], replay = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function flat(index) {
    var f = 0;
    for (var i = 0; i < index.length; i++) f = f * data.shape[i] + index[i];
    return f;
  }

  function cell() { return data.cells[flat(state.index)]; }

  function kpi(key) { for (var i = 0; i < data.kpis.length; i++) if (data.kpis[i].key === key) return data.kpis[i]; return null; }

  function theoryText(v, k) {
    if (v === "inf") return "\u221e (overloaded: no steady state)";
    return F.value(v, k.kind, { currency: data.currency });
  }

  /* ---- the URL fragment ---- */
  function readHash() {
    var h = window.location.hash.replace(/^#/, ""), out = {};
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("=");
      out[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  function writeHash() {
    var parts = data.parameters.map(function (p, i) {
      return encodeURIComponent(p.key) + "=" + encodeURIComponent(p.values[state.index[i]]);
    });
    if (replay) {
      parts.push("speed=" + replay.speed());
      parts.push("t=" + Math.floor(replay.time()));
    }
    if (state.revealed) parts.push("reveal=1");
    if (state.guess) parts.push("guess=" + encodeURIComponent(state.guess));
    var hash = "#" + parts.join("&");
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
  }

  function applyHash() {
    var h = readHash(), extra = {};
    data.parameters.forEach(function (p, i) {
      if (p.key in h) {
        var j = p.values.indexOf(h[p.key]);
        if (j >= 0) state.index[i] = j;
      }
    });
    if (h.reveal === "1") state.revealed = true;
    if (h.guess) state.guess = h.guess;
    if (h.speed && isFinite(+h.speed) && +h.speed > 0) extra.speed = +h.speed;
    if (h.t && isFinite(+h.t)) extra.time = +h.t;
    return extra;
  }

  /* ---- controls ---- */
  function buildControls() {
    var box = document.getElementById("controls");
    data.parameters.forEach(function (p, i) {
      var id = "param-" + p.key;
      var wrap = el("div", { "class": "control" });
      var label = el("label", { "for": id }, p.label);
      var input = el("input", { type: "range", id: id, name: p.key, min: "0", max: String(p.values.length - 1),
                                step: "1", value: String(state.index[i]) });
      if (p.help) input.setAttribute("aria-describedby", id + "-help");
      var out = el("output", { "for": id, id: id + "-value", "class": "control-value" });
      var ticks = el("div", { "class": "ticks", "aria-hidden": "true" });
      var few = p.values.length <= 6;
      p.values.forEach(function (v, j) {
        ticks.appendChild(el("span", {}, few || j === 0 || j === p.values.length - 1 ? v : ""));
      });
      wrap.appendChild(label);
      wrap.appendChild(out);
      wrap.appendChild(input);
      wrap.appendChild(ticks);
      if (p.help) wrap.appendChild(el("p", { "class": "help", id: id + "-help" }, p.help));
      box.appendChild(wrap);
      input.addEventListener("input", function (ev) {
        state.index[i] = +input.value;
        update(ev.timeStamp);
      });
      inputs.push(input);
      outputs.push(out);
    });
    var presets = document.getElementById("presets");
    if (!data.presets.length) { presets.hidden = true; return; }
    data.presets.forEach(function (preset) {
      var b = el("button", { type: "button", "class": "preset" }, preset.label);
      b.addEventListener("click", function (ev) {
        data.parameters.forEach(function (p, i) { if (p.key in preset.values) state.index[i] = preset.values[p.key]; });
        update(ev.timeStamp);
      });
      presets.appendChild(b);
    });
  }

  /* ---- KPI cards ---- */
  function buildCards() {
    var box = document.getElementById("cards");
    data.kpis.forEach(function (k) {
      var card = el("div", { "class": "card", "data-kpi": k.key });
      card.appendChild(el("h3", { title: k.formula }, k.label));
      card.appendChild(el("p", { "class": "value" }));
      card.appendChild(el("p", { "class": "theory" }));
      box.appendChild(card);
    });
  }

  function renderCards(c) {
    data.kpis.forEach(function (k) {
      var card = document.querySelector('.card[data-kpi="' + k.key + '"]');
      var v = c.k[k.key];
      card.querySelector(".value").textContent = state.revealed ? F.estimate(v[0], v[1], k.kind, { currency: data.currency }) : "?";
      var lines = c.t.filter(function (m) { return k.key in m.values; }).map(function (m) {
        return m.model + ": " + theoryText(m.values[k.key], k);
      });
      var any = c.t.length > 0;
      card.querySelector(".theory").textContent = state.revealed ? (lines.join("; ") || (any ? "no formula for this KPI" : "")) : "";
    });
  }

  /* ---- the figure ---- */
  var NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function series() {
    var xi = data.plot.x, k = kpi(data.plot.y), out = [];
    var models = {};
    for (var j = 0; j < data.shape[xi]; j++) {
      var idx = state.index.slice();
      idx[xi] = j;
      var c = data.cells[flat(idx)];
      c.t.forEach(function (m) { if (k.key in m.values) models[m.model] = true; });
      out.push(c);
    }
    return { cells: out, k: k, models: Object.keys(models) };
  }

  function renderPlot() {
    var fig = document.getElementById("plot-svg"), table = document.getElementById("plot-table");
    var sr = series(), k = sr.k, xi = data.plot.x, p = data.parameters[xi];
    var W = Math.max(300, Math.round(fig.getBoundingClientRect().width) || 640);
    var H = W < 500 ? 260 : 320, L = 64, R = 12, T = 14, B = 54;
    while (fig.firstChild) fig.removeChild(fig.firstChild);
    fig.setAttribute("viewBox", "0 0 " + W + " " + H);
    var vals = [];
    sr.cells.forEach(function (c) {
      var v = c.k[k.key];
      if (v[0] !== null) vals.push(v[0] + (v[1] || 0));
      c.t.forEach(function (m) { var x = m.values[k.key]; if (typeof x === "number") vals.push(x); });
      (c.runs || []).forEach(function (x) { if (x !== null) vals.push(x); });
    });
    var top = Math.max.apply(null, vals.concat([0])) * 1.08 || 1;
    if (k.kind === "share") top = Math.min(1, top);
    var unit = F.axisUnit(k.kind, vals);
    var ticks = niceTicks(0, top, unit ? F.STORED[k.kind] / F.per(unit) : (k.kind === "share" ? 100 : 1));
    top = Math.max(top, ticks[ticks.length - 1]);
    var n = sr.cells.length;
    var xAt = function (j) { return L + (n === 1 ? (W - L - R) / 2 : j * (W - L - R) / (n - 1)); };
    var yAt = function (v) { return T + (H - T - B) * (1 - v / top); };
    ticks.forEach(function (t) {
      fig.appendChild(s("line", { x1: L, x2: W - R, y1: yAt(t), y2: yAt(t), "class": "grid" }));
      fig.appendChild(s("text", { x: L - 6, y: yAt(t) + 4, "class": "tick", "text-anchor": "end" }, F.tick(t, k.kind, unit)));
    });
    fig.appendChild(s("text", { x: (L + W - R) / 2, y: H - 12, "class": "axis", "text-anchor": "middle" }, p.label));
    var yl = (unit && k.unitLabels[unit]) || k.unitLabel;
    fig.appendChild(s("text", { x: 14, y: (T + H - B) / 2, "class": "axis", "text-anchor": "middle",
                                transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, yl));
    var step = n > 1 ? (W - L - R) / (n - 1) : W;
    var crowded = sr.cells.some(function (c, j) { return p.values[j].length * 7 > step; });
    sr.cells.forEach(function (c, j) {
      var anchor = j === 0 && n > 1 ? "start" : (j === n - 1 && n > 1 ? "end" : "middle");
      fig.appendChild(s("text", { x: xAt(j) + (anchor === "start" ? -6 : anchor === "end" ? 6 : 0),
                                  y: H - B + 18 + (crowded && j % 2 ? 14 : 0), "class": "tick",
                                  "text-anchor": anchor }, p.values[j]));
    });
    var cur = state.index[xi];
    fig.appendChild(s("rect", { x: xAt(cur) - 14, y: T, width: 28, height: H - T - B, "class": "current" }));
    sr.models.forEach(function (name, mi) {
      var d = "", pen = false;
      sr.cells.forEach(function (c, j) {
        var m = c.t.filter(function (x) { return x.model === name; })[0];
        var v = m ? m.values[k.key] : null;
        if (typeof v === "number") { d += (pen ? "L" : "M") + xAt(j) + " " + yAt(Math.min(v, top)); pen = true; }
        else {
          pen = false;
          if (v === "inf") fig.appendChild(s("text", { x: xAt(j), y: T + 12, "class": "inf theory-" + mi, "text-anchor": "middle" }, "\u221e"));
        }
      });
      if (d) fig.appendChild(s("path", { d: d, "class": "theory-line theory-" + mi }));
    });
    sr.cells.forEach(function (c, j) {
      (c.runs || []).forEach(function (x, r) {
        if (x === null) return;
        fig.appendChild(s("circle", { cx: xAt(j) + ((r * 7) % 15) - 7, cy: yAt(x), r: 2.5, "class": "run" }));
      });
      var v = c.k[k.key];
      if (v[0] === null) return;
      if (v[1] !== null) fig.appendChild(s("line", { x1: xAt(j), x2: xAt(j), y1: yAt(Math.min(top, v[0] + v[1])),
                                                    y2: yAt(Math.max(0, v[0] - v[1])), "class": "ci" }));
      fig.appendChild(s("circle", { cx: xAt(j), cy: yAt(v[0]), r: j === cur ? 6 : 4.5, "class": j === cur ? "sim now" : "sim" }));
    });
    var leg = document.getElementById("plot-legend");
    leg.innerHTML = "";
    var items = [["sim", "simulated: mean \u00b1 " + Math.round(data.level * 100) + "% CI (" + data.replications + " replications a point unless the slider says otherwise)"]];
    if (sr.cells.some(function (c) { return c.runs; })) items.push(["run", "one replication each"]);
    sr.models.forEach(function (name, mi) { items.push(["theory-" + mi, name]); });
    items.forEach(function (it) {
      var span = el("span", { "class": "key" });
      span.appendChild(el("span", { "class": "swatch " + it[0] }));
      span.appendChild(document.createTextNode(it[1]));
      leg.appendChild(span);
    });
    fig.setAttribute("aria-label", k.label + " against " + p.label + "; the table below gives the numbers");
    var rows = "<caption>" + esc(k.label) + " by " + esc(p.label) + "</caption><thead><tr><th scope=col>" + esc(p.label) +
      "</th><th scope=col>simulated (mean \u00b1 CI)</th>" +
      sr.models.map(function (m) { return "<th scope=col>" + esc(m) + "</th>"; }).join("") + "</tr></thead><tbody>";
    sr.cells.forEach(function (c, j) {
      var v = c.k[k.key];
      rows += "<tr" + (j === cur ? ' class="now"' : "") + "><th scope=row>" + esc(p.values[j]) + "</th><td class=num>" +
        esc(F.estimate(v[0], v[1], k.kind, { currency: data.currency })) + "</td>" +
        sr.models.map(function (name) {
          var m = c.t.filter(function (x) { return x.model === name; })[0];
          return "<td class=num>" + (m && k.key in m.values ? esc(theoryText(m.values[k.key], k)) : F.NAN) + "</td>";
        }).join("") + "</tr>";
    });
    table.innerHTML = rows + "</tbody>";
  }

  function esc(t) { return String(t).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  /* Round ticks in the shown unit (factor: shown per stored). */
  function niceTicks(lo, hi, factor) {
    var span = (hi - lo) * factor || 1, raw = span / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).filter(function (x) { return x >= raw; })[0];
    var out = [];
    for (var v = 0; v <= span + step * 0.999; v += step) out.push(v / factor);
    return out;
  }

  /* ---- everything ---- */
  function render() {
    var c = cell();
    inputs.forEach(function (input, i) {
      var p = data.parameters[i];
      input.value = String(state.index[i]);
      input.setAttribute("aria-valuetext", p.values[state.index[i]]);
      outputs[i].textContent = p.values[state.index[i]];
    });
    renderCards(c);
    app.classList.toggle("revealed", state.revealed);
    document.getElementById("reveal").setAttribute("aria-expanded", state.revealed ? "true" : "false");
    document.getElementById("reveal").textContent = state.revealed ? "Revealed" : "Reveal the answer";
    document.getElementById("guess").value = state.guess;
    renderPlot();
    var noise = document.getElementById("noise");
    noise.textContent = data.kpis.map(function (k) {
      var v = c.k[k.key];
      return k.short + " \u00b1 " + (v[1] === null ? F.NAN : F.value(v[1], k.kind === "share" ? "share" : k.kind, { currency: data.currency }).replace(/%$/, " pp"));
    }).join(", ");
    if (replay) replay.load(data.replays[c.r]);
    app.dataset.cell = String(flat(state.index));
  }

  function update(inputAt) {
    render();
    writeHash();
    var at = typeof inputAt === "number" ? inputAt : performance.now();
    app.dataset.inputAt = at.toFixed(1);
    requestAnimationFrame(function () {
      var done = performance.now();
      app.dataset.updatedAt = done.toFixed(1);
      app.dataset.updateMs = (done - at).toFixed(1);
    });
  }

  function init() {
    var extra = applyHash();
    buildControls();
    buildCards();
    document.getElementById("reveal").addEventListener("click", function (ev) { state.revealed = true; update(ev.timeStamp); });
    document.getElementById("guess").addEventListener("change", function () { state.guess = this.value; writeHash(); });
    replay = window.servsimReplay.mount(document.getElementById("replay"), data.replays[cell().r],
                                        { speed: extra.speed || 30, time: extra.time || 0, onChange: writeHash });
    render();
    writeHash();
    document.documentElement.dataset.readyMs = performance.now().toFixed(1);
  }

  window.addEventListener("hashchange", function () { applyHash(); render(); });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { renderPlot(); if (replay) replay.redraw(); }, 100);
  });
  init();
})();
