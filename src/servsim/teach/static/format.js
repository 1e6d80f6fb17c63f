/* servsim's one formatter (servsim.report.format), for pages: the same rules, the same text.
 *
 * value(x, kind) and estimate(mean, halfWidth, kind) give what format.value and format.estimate
 * give in Python, character for character: the kinds, units, decimals, thousands separators,
 * U+2212 minus and the en dash for a missing value come from the same rules, and numbers are
 * rounded as Python rounds them (to the nearest, ties to even, on the exact binary value: toFixed
 * alone rounds ties up). Labels are not made here: pages embed the metric registry's labels.
 */
(function (root) {
  "use strict";
  var NAN = "\u2013", MINUS = "\u2212";
  var UNITS = [["s", 1], ["min", 60], ["h", 3600]];
  var SWITCH_AT = 2;
  var STORED = { duration: 1, hours: 3600 };

  function missing(x) { return x === null || x === undefined || typeof x !== "number" || isNaN(x); }

  function increment(digits) {
    var out = digits.split(""), i = out.length - 1;
    while (i >= 0) {
      if (out[i] === "9") { out[i] = "0"; i -= 1; } else { out[i] = String(+out[i] + 1); return out.join(""); }
    }
    return "1" + out.join("");
  }

  /* Python's f"{x:.{d}f}" for x >= 0: correctly rounded, ties to even. */
  function fixed(x, d) {
    var full = x.toFixed(100), dot = full.indexOf(".");
    var ip = full.slice(0, dot), fp = full.slice(dot + 1);
    var kept = fp.slice(0, d), rest = fp.slice(d), up;
    if (rest.charAt(0) > "5") up = true;
    else if (rest.charAt(0) < "5") up = false;
    else if (/[1-9]/.test(rest.slice(1))) up = true;
    else up = +((d ? kept : ip).slice(-1)) % 2 === 1;
    var digits = ip + kept;
    if (up) digits = increment(digits);
    var cut = digits.length - d;
    return d ? digits.slice(0, cut) + "." + digits.slice(cut) : digits;
  }

  function grouped(text) {
    var dot = text.indexOf("."), ip = dot < 0 ? text : text.slice(0, dot), rest = dot < 0 ? "" : text.slice(dot);
    return ip.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + rest;
  }

  function isZero(text) { return parseFloat(text.replace(/,/g, "")) === 0; }

  function number(x, decimals, signed) {
    var text = grouped(fixed(Math.abs(x), decimals));
    if (isZero(text)) return text;
    if (x < 0) return MINUS + text;
    return (signed ? "+" : "") + text;
  }

  function durationUnit(seconds) {
    var size = missing(seconds) ? 0 : Math.abs(seconds), chosen = UNITS[0][0];
    for (var i = 0; i < UNITS.length; i++) {
      if (size >= SWITCH_AT * UNITS[i][1] || UNITS[i][1] === 1) chosen = UNITS[i][0];
    }
    return chosen;
  }

  function per(unit) { for (var i = 0; i < UNITS.length; i++) if (UNITS[i][0] === unit) return UNITS[i][1]; return 1; }

  function scaleOf(kind, reference, scale) {
    if (!(kind in STORED)) return [1, ""];
    var u = scale || durationUnit(reference * STORED[kind]);
    return [STORED[kind] / per(u), u];
  }

  function places(kind, numbers) {
    var ref = Math.max.apply(null, numbers.map(Math.abs));
    var whole = numbers.every(function (x) { return Number.isInteger(x); });
    if (kind === "money") return ref >= 10 || whole ? 0 : 2;
    if (kind === "count") return ref >= 100 || whole ? 0 : 1;
    if (kind === "ratio") return 2;
    return 1;
  }

  function decimals(x, base) {
    if (x !== 0 && isZero(fixed(Math.abs(x), base)) && !isZero(fixed(Math.abs(x), base + 1))) return base + 1;
    return base;
  }

  function glued(kind) { return kind === "share" ? "%" : kind === "ratio" ? "\u00d7" : ""; }

  function trailing(kind, signed, currency, scaled) {
    if (kind === "share") return signed ? " pp" : "";
    if (kind in STORED) return " " + scaled;
    if (kind === "money" && currency) return " " + currency;
    return "";
  }

  function display(x, kind, factor) { return kind === "share" ? x * 100 : x * factor; }

  function kindOf(kind) { return kind === "seconds" ? "duration" : (kind || "count"); }

  function value(x, kind, opts) {
    opts = opts || {};
    if (missing(x)) return NAN;
    var k = kindOf(kind), sc = scaleOf(k, x, opts.scale);
    var shown = display(x, k, sc[0]);
    var d = decimals(shown, places(k, [shown]));
    var glue = k === "share" && opts.signed ? "" : glued(k);
    return number(shown, d, opts.signed) + glue + trailing(k, opts.signed, opts.currency, sc[1]);
  }

  function estimate(mean, halfWidth, kind, opts) {
    opts = opts || {};
    if (missing(mean)) return NAN;
    if (missing(halfWidth)) return value(mean, kind, opts);
    var k = kindOf(kind), m = mean, hw = Math.abs(halfWidth);
    var sc = scaleOf(k, Math.max(Math.abs(m), hw), opts.scale);
    var sm = display(m, k, sc[0]), sh = display(hw, k, sc[0]);
    var base = places(k, [sm, sh]);
    var glue = k === "share" && opts.signed ? "" : glued(k);
    var hwGlue = k === "share" ? "" : glued(k);
    var hwUnit = k === "share" && !opts.signed ? " pp" : "";
    var main = number(sm, decimals(sm, base), opts.signed) + glue;
    var spread = number(sh, decimals(sh, base)) + hwGlue + hwUnit;
    return main + " \u00b1 " + spread + trailing(k, opts.signed, opts.currency, sc[1]);
  }

  /* The unit an axis of durations is drawn in (format.axis_unit), or null for other kinds. */
  function axisUnit(kind, values) {
    var k = kindOf(kind);
    if (!(k in STORED)) return null;
    var finite = values.filter(function (v) { return !missing(v) && isFinite(v); }).map(Math.abs);
    return durationUnit((finite.length ? Math.max.apply(null, finite) : 0) * STORED[k]);
  }

  /* Tick text of an axis (format.axis_formatter): shares as "80%", durations in the axis unit. */
  function tick(v, kind, scale) {
    var k = kindOf(kind), factor = k === "share" ? 100 : (k in STORED ? STORED[k] / per(scale || "s") : 1);
    var x = v * factor, text = grouped(String(+Math.abs(x).toPrecision(6)));
    var suffix = k === "share" ? "%" : "";
    if (isZero(text)) return "0" + suffix;
    return (x < 0 ? MINUS : "") + text + suffix;
  }

  root.servsimFormat = { value: value, estimate: estimate, durationUnit: durationUnit, axisUnit: axisUnit,
                         tick: tick, fixed: fixed, NAN: NAN, MINUS: MINUS, STORED: STORED, per: per };
})(typeof window !== "undefined" ? window : this);
