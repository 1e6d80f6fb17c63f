"""Derive the numbers of ``scenarios/bank_contact_centre.yaml`` from real call-centre records.

Data source (acknowledged as its terms ask): Ilan Guedj and Avi Mandelbaum, "'Anonymous Bank'
Call-Center Data", Technion Service Enterprise Engineering (SEE) Center, 2000 — the call log of an
Israeli bank's call centre, January 1999 (``january.txt``). The data is free for use with
acknowledgement of its source. Analysed in L. Brown, N. Gans, A. Mandelbaum, A. Sakov, H. Shen,
S. Zeltyn and L. Zhao (2005), "Statistical analysis of a telephone call center: a queueing-science
perspective", JASA 100:36–50.

Usage::

    python scripts/derive_bank_scenario.py [path/to/january.txt]

The default path is ``../shared/data/anonymous_bank/january.txt`` relative to the repository root.
Every derivation is also a function returning a dict (see :func:`derive_all`), so tests can call them.

Record definitions (from the data's documentation and Brown et al.):

* ``PHANTOM`` rows are not real calls and are dropped;
* a call *asks for an agent* if it queued (``q_start`` is not ``0:00:00``) or was served (outcome
  ``AGENT``); calls that hung up inside the voice-response unit (VRU) never asked for one;
* *abandoned* = queued and outcome ``HANG``;
* *wait* = ``q_time`` if queued, else 0;
* the moment a call asks for an agent is ``vru_exit`` (it then joins the queue or goes straight to
  an agent), and that is the arrival time used for the intraday profile;
* working days are Sunday–Thursday (Israel); Friday is a short day (to about 14:00) and on Saturday
  the centre opens only after the Sabbath ends (from about 19:00).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "anonymous_bank" / "january.txt"

SOURCE = ("Ilan Guedj and Avi Mandelbaum, \"'Anonymous Bank' Call-Center Data\", Technion Service "
          "Enterprise Engineering Center, 2000 (January 1999 records)")

WINDOW = ("07:00", "24:00")      # daily window of the scenario
INTERVAL_MIN = 30                # reporting interval, minutes
WEEKDAYS = (6, 0, 1, 2, 3)       # pandas day_of_week: Sunday=6, Monday=0 ... Thursday=3
SHARE_DECIMALS = 4

DAY_S = 86400
FIELDS = ["vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit",
          "vru_time", "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time",
          "server"]
CLOCK_FIELDS = ["vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit"]
INT_FIELDS = ["priority", "vru_time", "q_time", "ser_time"]


# ------------------------------------------------------------------------------------------ loading
def _clock_s(col: pd.Series) -> pd.Series:
    """'7:41:16' or '07:41:16' -> seconds after midnight."""
    parts = col.str.strip().str.split(":", expand=True).astype(int)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _hhmm_s(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


def read_raw(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """The file as it is: 17 tab-separated text fields, one row per record (PHANTOM rows included)."""
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    missing = [f for f in FIELDS if f not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing fields {missing}")
    return raw


def prepare(raw: pd.DataFrame) -> pd.DataFrame:
    """Parsed calls, PHANTOM rows dropped, with the derived columns used below.

    Adds ``*_s`` (seconds after midnight of ``date``), ``day`` (datetime), ``dow`` (0=Mon..6=Sun),
    ``weekday`` (Sun–Thu), ``queued``, ``served``, ``asks``, ``abandoned``, ``wait``, ``arrival_s``.
    """
    df = raw[raw["outcome"].str.strip() != "PHANTOM"].copy()
    for c in ("outcome", "type", "server", "date"):
        df[c] = df[c].str.strip()
    for c in INT_FIELDS:
        df[c] = df[c].astype(int)
    for c in CLOCK_FIELDS:
        df[c + "_s"] = _clock_s(df[c])
    # dates are yymmdd in this file (990103); accept yyyymmdd too
    fmt = "%y%m%d" if df["date"].str.len().eq(6).all() else "%Y%m%d"
    df["day"] = pd.to_datetime(df["date"], format=fmt)
    df["dow"] = df["day"].dt.day_of_week
    df["weekday"] = df["dow"].isin(WEEKDAYS)
    df["queued"] = df["q_start"].str.strip().ne("0:00:00") & df["q_start"].str.strip().ne("00:00:00")
    df["served"] = df["outcome"].eq("AGENT")
    df["asks"] = df["queued"] | df["served"]
    df["abandoned"] = df["queued"] & df["outcome"].eq("HANG")
    df["wait"] = np.where(df["queued"], df["q_time"], 0)
    # clock times belong to the record's date; a time far before the VRU entry crossed midnight
    arr = df["vru_exit_s"].to_numpy()
    entry = df["vru_entry_s"].to_numpy()
    df["arrival_s"] = np.where(arr < entry - DAY_S // 2, arr + DAY_S, arr)
    start = df["ser_start_s"].to_numpy()
    start = np.where(start < entry - DAY_S // 2, start + DAY_S, start)
    end = df["ser_exit_s"].to_numpy()
    end = np.where(end < start - DAY_S // 2, end + DAY_S, end)   # (none in January; kept for safety)
    end = np.where(end < start, start + df["ser_time"].to_numpy(), end)
    df["ser_start_abs"] = start
    df["ser_end_abs"] = end
    return df


def load_calls(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """:func:`read_raw` then :func:`prepare`."""
    return prepare(read_raw(path))


def _window() -> tuple[int, int, int]:
    lo, hi = _hhmm_s(WINDOW[0]), _hhmm_s(WINDOW[1])
    return lo, hi, (hi - lo) // (INTERVAL_MIN * 60)


def scenario_sample(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls asking for an agent on a working day (Sun–Thu) inside the daily window."""
    lo, hi, _ = _window()
    m = calls["asks"] & calls["weekday"] & calls["arrival_s"].between(lo, hi - 1)
    return calls[m]


# ------------------------------------------------------------------------------------------ summary
def data_summary(raw: pd.DataFrame, calls: pd.DataFrame) -> dict:
    """Record counts, days covered and the oddities found in the file."""
    days = calls.drop_duplicates("day")[["day", "dow"]].sort_values("day")
    all_days = pd.date_range(days["day"].min(), days["day"].max())
    per_day = calls[calls["asks"]].groupby("day").size()
    wk = per_day[per_day.index.day_of_week.isin(WEEKDAYS)]
    first, last = wk.iloc[:5].mean(), wk.iloc[-5:].mean()
    return {
        "n_records": int(len(raw)),
        "n_phantom": int((raw["outcome"].str.strip() == "PHANTOM").sum()),
        "n_calls": int(len(calls)),
        "n_asks": int(calls["asks"].sum()),
        "n_vru_only": int((~calls["asks"]).sum()),
        "n_queued": int(calls["queued"].sum()),
        "n_served": int(calls["served"].sum()),
        "n_abandoned": int(calls["abandoned"].sum()),
        "first_day": str(days["day"].min().date()),
        "last_day": str(days["day"].max().date()),
        "missing_days": [str(d.date()) for d in all_days if d not in set(days["day"])],
        "days_by_kind": {
            "weekday (Sun-Thu)": int(days["dow"].isin(WEEKDAYS).sum()),
            "Friday": int((days["dow"] == 4).sum()),
            "Saturday": int((days["dow"] == 5).sum()),
        },
        "asks_per_day": {str(d.date()): int(n) for d, n in per_day.items()},
        "weekday_volume_first5_mean": float(first),
        "weekday_volume_last5_mean": float(last),
        "negative_vru_time": int((calls["vru_time"] < 0).sum()),
        "served_without_server": int((calls["served"] & calls["server"].eq("NO_SERVER")).sum()),
        "served_zero_time": int((calls["served"] & calls["ser_time"].eq(0)).sum()),
        "type_codes_unknown": {t: int(n) for t, n in calls["type"].value_counts().items()
                               if t not in ("PS", "PE", "IN", "NE", "NW", "TT")},
        "friday_last_arrival": _clock(calls.loc[calls["asks"] & (calls["dow"] == 4), "arrival_s"].max()),
        "saturday_first_arrival": _clock(calls.loc[calls["asks"] & (calls["dow"] == 5), "arrival_s"].min()),
    }


def _clock(s: float) -> str:
    s = int(s)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ------------------------------------------------------------------------------------------ arrivals
def _round_shares(counts: np.ndarray, decimals: int = SHARE_DECIMALS) -> list[float]:
    """Shares rounded to ``decimals`` that sum to exactly 1 and are non-negative.

    Largest-remainder rounding: every share is first rounded down, then the missing units of
    10^-decimals go to the shares with the largest remainders, so no share is off by more than one
    unit (plain rounding here would overshoot by 2 units, and pushing them all onto the largest share
    would move that one by 2).
    """
    unit = 10**decimals
    exact = counts / counts.sum() * unit
    units = np.floor(exact).astype(int)
    missing = unit - int(units.sum())
    order = np.argsort(-(exact - units), kind="stable")
    units[order[:missing]] += 1
    return [int(u) / unit for u in units]


def arrival_profile(calls: pd.DataFrame) -> dict:
    """Weekday (Sun–Thu) intraday profile of calls asking for an agent, per 30-min interval."""
    lo, hi, k = _window()
    ask_wk = calls[calls["asks"] & calls["weekday"]]
    n_days = int(ask_wk["day"].nunique())
    in_win = ask_wk["arrival_s"].between(lo, hi - 1)
    idx = ((ask_wk.loc[in_win, "arrival_s"] - lo) // (INTERVAL_MIN * 60)).astype(int)
    counts = np.bincount(idx, minlength=k).astype(float)
    shares = _round_shares(counts)
    per_day = ask_wk[in_win].groupby("day").size()
    return {
        "window": list(WINDOW),
        "interval_min": INTERVAL_MIN,
        "n_intervals": k,
        "n_weekdays": n_days,
        "weekdays": [str(d.date()) for d in sorted(ask_wk["day"].unique())],
        "window_share": float(in_win.mean()),              # share of weekday calls inside the window
        "calls_outside_window": int((~in_win).sum()),
        "daily_volume": int(round(counts.sum() / n_days)),  # in-window calls per weekday
        "daily_volume_exact": float(counts.sum() / n_days),
        "daily_volume_all_hours": float(len(ask_wk) / n_days),
        "daily_volume_min": int(per_day.min()),
        "daily_volume_max": int(per_day.max()),
        "counts": counts.astype(int).tolist(),
        "raw_shares": (counts / counts.sum()).tolist(),
        "shares": shares,
        "interval_starts": [_clock(lo + i * INTERVAL_MIN * 60)[:5] for i in range(k)],
        "mean_per_interval": (counts / n_days).tolist(),
    }


# ------------------------------------------------------------------------------------------ service
def _lognormal_ks(x: np.ndarray, mu: float, sigma: float) -> float:
    return float(stats.kstest(x, "lognorm", args=(sigma, 0, math.exp(mu))).statistic)


def _lognormal(mu: float, sigma: float, x: np.ndarray) -> dict:
    return {
        "mu": mu, "sigma": sigma, "median": math.exp(mu),
        "mean": math.exp(mu + sigma**2 / 2), "cv": math.sqrt(math.expm1(sigma**2)),
        "ks": _lognormal_ks(x, mu, sigma),
    }


def lognormal_moments(x: np.ndarray) -> dict:
    """Lognormal with the sample's mean and cv (servsim's ``{dist: lognormal, mean, cv}``), and the
    Kolmogorov–Smirnov distance sup|F_n - F| between it and the data."""
    m, cv = float(x.mean()), float(x.std(ddof=1) / x.mean())
    s2 = math.log1p(cv * cv)
    return _lognormal(math.log(m) - s2 / 2, math.sqrt(s2), x)


def lognormal_mle(x: np.ndarray) -> dict:
    """Maximum-likelihood lognormal (mean and sd of log x), with its KS distance."""
    logs = np.log(x)
    return _lognormal(float(logs.mean()), float(logs.std(ddof=0)), x)


def service_times(calls: pd.DataFrame) -> dict:
    """Service time (``ser_time``) of served calls, excluding 0 s, in the scenario sample (weekday,
    inside the window); with a lognormal fit and, for comparison, the whole month and per type."""
    sample = scenario_sample(calls)
    sv = sample[sample["served"] & (sample["ser_time"] > 0)]
    x = sv["ser_time"].to_numpy(float)
    month = calls[calls["served"] & (calls["ser_time"] > 0)]
    with_server = sv[sv["server"] != "NO_SERVER"]["ser_time"].to_numpy(float)
    return {
        "n": int(len(x)),
        "n_zero_excluded": int((sample["served"] & (sample["ser_time"] == 0)).sum()),
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "cv": float(x.std(ddof=1) / x.mean()),
        "median": float(np.median(x)),
        "p90": float(np.quantile(x, 0.9)),
        "share_under_10s": float((x < 10).mean()),
        # the fit used by the scenario: it keeps the mean (hence the offered load) and the cv
        "lognormal": lognormal_moments(x),
        # maximum likelihood on all services: pulled by the spike of very short services
        "lognormal_mle": lognormal_mle(x),
        # maximum likelihood on services of 10 s or more (Brown et al.: lognormal fits well apart
        # from the short ones)
        "lognormal_mle_10s": lognormal_mle(x[x >= 10]),
        "share_10s_or_more": float((x >= 10).mean()),
        "mean_excluding_no_server": float(with_server.mean()),
        "month_all_days_mean": float(month["ser_time"].mean()),
        "month_all_days_cv": float(month["ser_time"].std(ddof=1) / month["ser_time"].mean()),
        "by_type_mean": {t: float(g.mean()) for t, g in sv.groupby("type")["ser_time"]},
        "by_type_n": {t: int(len(g)) for t, g in sv.groupby("type")["ser_time"]},
    }


# ------------------------------------------------------------------------------------------ patience
def _patience(sample: pd.DataFrame) -> dict:
    n_ab = int(sample["abandoned"].sum())
    total_wait = float(sample.loc[sample["queued"], "wait"].sum())
    rate = n_ab / total_wait if total_wait > 0 else float("nan")
    return {
        "n_asks": int(len(sample)),
        "n_queued": int(sample["queued"].sum()),
        "n_abandoned": n_ab,
        "total_wait_s": total_wait,
        "rate_per_s": rate,
        "mean_patience_s": 1 / rate if rate > 0 else float("inf"),
        "abandon_share": n_ab / len(sample) if len(sample) else float("nan"),
        "abandon_share_queued": n_ab / int(sample["queued"].sum()) if sample["queued"].any() else float("nan"),
        "share_queued": float(sample["queued"].mean()),
        "mean_wait_s": float(sample["wait"].mean()),
        "mean_wait_queued_s": float(sample.loc[sample["queued"], "wait"].mean()),
        "share_wait_le_20s": float((sample["wait"] <= 20).mean()),
    }


def patience(calls: pd.DataFrame) -> dict:
    """Exponential patience, MLE under censoring: rate = abandoned / total waiting time of queued calls.

    Overall and per segment (``priority`` = priority 2; ``regular`` = priority 0 or 1).
    """
    sample = scenario_sample(calls)
    out = _patience(sample)
    out["regular"] = _patience(sample[sample["priority"] != 2])
    out["priority"] = _patience(sample[sample["priority"] == 2])
    return out


# ------------------------------------------------------------------------------------------ mix
def customer_mix(calls: pd.DataFrame) -> dict:
    """Shares of call types and of priority-2 customers among calls asking for an agent.

    The priority of calls that did not queue was not recorded (a system bug described in the data's
    documentation: they show priority 0), so the share of priority customers among *all* calls is
    understated. Whether a call queues depends on whether an agent happens to be free, not on its
    priority, so within an interval the share among *queued* calls estimates the true share. The
    share used by the scenario is that per-interval share weighted by each interval's volume (which
    corrects for the mix of queued calls over the day).
    """
    lo, _, _ = _window()
    sample = scenario_sample(calls)
    q = sample[sample["queued"]]
    is2 = (q["priority"] == 2).groupby((q["arrival_s"] - lo) // (INTERVAL_MIN * 60)).mean()
    weight = sample.groupby((sample["arrival_s"] - lo) // (INTERVAL_MIN * 60)).size().reindex(is2.index)
    weighted = float((is2 * weight).sum() / weight.sum())
    type_shares = sample["type"].value_counts(normalize=True)
    return {
        "type_shares": {t: float(v) for t, v in type_shares.items()},
        "type_names": {"PS": "regular activity", "PE": "regular activity in English",
                       "IN": "internet consulting", "NE": "stock exchange activity",
                       "NW": "potential customer getting information",
                       "TT": "call-back customers put on hold"},
        "priority2_share_all": float((sample["priority"] == 2).mean()),
        "priority2_share_queued": float((q["priority"] == 2).mean()),
        "priority2_share_queued_weighted": weighted,
        "priority_counts_all": {int(p): int(n) for p, n in sample["priority"].value_counts().sort_index().items()},
        "priority_counts_queued": {int(p): int(n) for p, n in q["priority"].value_counts().sort_index().items()},
        "unqueued_with_priority2": int(((~sample["queued"]) & (sample["priority"] == 2)).sum()),
        "priority_share_used": round(weighted, 2),
    }


# ------------------------------------------------------------------------------------------ agents
def agents_per_interval(calls: pd.DataFrame) -> dict:
    """Agents per 30-min interval on an average weekday: distinct servers with any service overlapping
    the interval, and busy agents (agent-seconds of service in the interval / interval length)."""
    lo, hi, k = _window()
    L = INTERVAL_MIN * 60
    sv = calls[calls["served"] & calls["weekday"] & (calls["server"] != "NO_SERVER")
               & (calls["ser_time"] > 0)]
    n_days = int(calls.loc[calls["asks"] & calls["weekday"], "day"].nunique())
    s = sv["ser_start_abs"].to_numpy(float) - lo
    e = sv["ser_end_abs"].to_numpy(float) - lo
    first = np.clip(np.floor(s / L), 0, k - 1).astype(int)
    last = np.clip(np.floor((e - 1e-9) / L), 0, k - 1).astype(int)
    keep = (e > 0) & (s < hi - lo)
    rows = []
    busy = np.zeros(k)
    for a, b, st, en, day, srv in zip(first[keep], last[keep], s[keep], e[keep],
                                      sv["day"].to_numpy()[keep], sv["server"].to_numpy()[keep]):
        for i in range(a, b + 1):
            busy[i] += min(en, (i + 1) * L) - max(st, i * L)
            rows.append((day, i, srv))
    active = pd.DataFrame(rows, columns=["day", "i", "server"]).drop_duplicates()
    per = active.groupby(["day", "i"]).size().unstack(fill_value=0).reindex(columns=range(k), fill_value=0)
    mean_active = per.sum(axis=0).to_numpy() / n_days   # days with no activity in an interval count as 0
    mean_busy = busy / L / n_days
    return {
        "n_servers_month": int(calls.loc[calls["served"] & (calls["server"] != "NO_SERVER"), "server"].nunique()),
        "mean_active": mean_active.tolist(),
        "max_active": per.max(axis=0).astype(int).tolist(),
        "mean_busy": mean_busy.tolist(),
        "peak_active": float(mean_active.max()),
        "peak_busy": float(mean_busy.max()),
    }


# ------------------------------------------------------------------------------------------ all
def derive_all(path: str | Path = DEFAULT_PATH) -> dict:
    """Every derivation, as one dict of dicts."""
    raw = read_raw(path)
    calls = prepare(raw)
    return {
        "source": SOURCE,
        "path": str(path),
        "data": data_summary(raw, calls),
        "arrivals": arrival_profile(calls),
        "service": service_times(calls),
        "patience": patience(calls),
        "mix": customer_mix(calls),
        "agents": agents_per_interval(calls),
    }


def offered_load(d: dict, follow_up_share: float = 0.35, follow_up_mean_s: float = 480.0) -> dict:
    """Offered load (Erlangs) per interval of an average weekday: front line (calls x mean service
    time / interval length) and the scenario's assumed back-office follow-up (a share of calls x its
    mean time / interval length). Planners staff above these numbers."""
    a = d["arrivals"]
    L = a["interval_min"] * 60
    calls = [a["daily_volume"] * s for s in a["shares"]]
    return {
        "front": [c * d["service"]["lognormal"]["mean"] / L for c in calls],
        "follow_up": [c * follow_up_share * follow_up_mean_s / L for c in calls],
    }


def yaml_values(d: dict, identify_mean_s: float = 45.0, identify_range_s: tuple[float, float] = (30.0, 60.0)) -> dict:
    """The values the scenario file hard-codes.

    ``serve`` gets the fitted lognormal minus the (guessed) identification step: mean = fitted mean −
    identify mean, variance = fitted variance − identify variance (uniform on identify_range_s), so
    identify + serve has the fitted mean and variance.
    """
    ln = d["service"]["lognormal"]
    var_fit = (ln["cv"] * ln["mean"]) ** 2
    a, b = identify_range_s
    var_id = (b - a) ** 2 / 12
    serve_mean = ln["mean"] - identify_mean_s
    serve_cv = math.sqrt(var_fit - var_id) / serve_mean
    pt = d["patience"]
    return {
        "daily_volume": d["arrivals"]["daily_volume"],
        "shares": d["arrivals"]["shares"],
        "handle_lognormal": {"mean_s": round(ln["mean"]), "cv": round(ln["cv"], 2)},
        "serve_lognormal": {"mean_s": round(serve_mean), "cv": round(serve_cv, 2)},
        "patience_mean_s": round(pt["mean_patience_s"]),
        "patience_regular_mean_s": round(pt["regular"]["mean_patience_s"]),
        "patience_priority_mean_s": round(pt["priority"]["mean_patience_s"]),
        "priority_share": d["mix"]["priority_share_used"],
        "regular_share": round(1 - d["mix"]["priority_share_used"], 2),
        "active_servers": [int(round(v)) for v in d["agents"]["mean_active"]],
        "busy_servers": [round(v, 1) for v in d["agents"]["mean_busy"]],
        "front_load_erlang": [round(v, 1) for v in offered_load(d)["front"]],
        "follow_up_load_erlang": [round(v, 1) for v in offered_load(d)["follow_up"]],
    }


# ------------------------------------------------------------------------------------------ report
def report(d: dict) -> str:
    a, sv, pt, mix, ag, dat = d["arrivals"], d["service"], d["patience"], d["mix"], d["agents"], d["data"]
    y = yaml_values(d)
    ln = sv["lognormal"]
    L = []
    p = L.append
    p("'Anonymous Bank' call centre, January 1999 — derived scenario numbers")
    p(f"Source: {SOURCE}. Free for use with acknowledgement of the source.")
    p(f"File: {d['path']}")
    p("")
    p("== Records")
    p(f"  {dat['n_records']} records, {dat['n_phantom']} PHANTOM dropped -> {dat['n_calls']} calls; "
      f"{dat['n_asks']} asked for an agent ({dat['n_vru_only']} ended in the VRU)")
    p(f"  days {dat['first_day']} .. {dat['last_day']}, missing: {', '.join(dat['missing_days']) or 'none'}; "
      f"{dat['days_by_kind']}")
    p(f"  Friday: last call asking for an agent at {dat['friday_last_arrival']}; "
      f"Saturday: first at {dat['saturday_first_arrival']} (after the Sabbath)")
    p(f"  weekday volume (all hours) falls over the month: first five weekdays {dat['weekday_volume_first5_mean']:.0f}/day, "
      f"last five {dat['weekday_volume_last5_mean']:.0f}/day")
    p(f"  oddities: {dat['negative_vru_time']} records with vru_exit before vru_entry; "
      f"{dat['served_without_server']} AGENT outcomes with NO_SERVER; {dat['served_zero_time']} served with ser_time 0; "
      f"unknown type codes {dat['type_codes_unknown']}")
    p("")
    p(f"== Arrivals: weekdays (Sun–Thu), {a['n_weekdays']} days, window {a['window'][0]}–{a['window'][1]}")
    p(f"  the window holds {a['window_share']:.2%} of weekday calls asking for an agent "
      f"({a['calls_outside_window']} outside, over {a['n_weekdays']} days)")
    p(f"  daily volume (in window): {a['daily_volume_exact']:.1f} -> {a['daily_volume']} "
      f"(range {a['daily_volume_min']}–{a['daily_volume_max']}; all hours {a['daily_volume_all_hours']:.1f})")
    p("  interval  calls/day  share   active-agents  busy-agents")
    for i, t in enumerate(a["interval_starts"]):
        p(f"  {t}     {a['mean_per_interval'][i]:7.1f}  {a['shares'][i]:.4f}  {ag['mean_active'][i]:8.1f}  "
          f"{ag['mean_busy'][i]:10.1f}")
    p(f"  shares sum to {math.fsum(a['shares']):.10f}")
    p("")
    p("== Service time (served, ser_time > 0, weekday calls in the window)")
    p(f"  n = {sv['n']} ({sv['n_zero_excluded']} zero-second services excluded); mean {sv['mean']:.1f} s, "
      f"sd {sv['sd']:.1f} s, cv {sv['cv']:.3f}, median {sv['median']:.0f} s, p90 {sv['p90']:.0f} s; "
      f"{sv['share_under_10s']:.1%} under 10 s")
    for label, f in (("lognormal, mean and cv matched (used)", ln), ("lognormal MLE, all", sv["lognormal_mle"]),
                     (f"lognormal MLE, >= 10 s ({sv['share_10s_or_more']:.1%} of services)", sv["lognormal_mle_10s"])):
        p(f"  {label}: median {f['median']:.1f} s, sigma {f['sigma']:.3f} -> mean {f['mean']:.1f} s, "
          f"cv {f['cv']:.3f}; KS distance {f['ks']:.4f}")
    p(f"  mean without NO_SERVER records {sv['mean_excluding_no_server']:.1f} s; whole month, all days: "
      f"mean {sv['month_all_days_mean']:.1f} s, cv {sv['month_all_days_cv']:.3f} (Brown et al.: about 185 s)")
    p("  by type: " + ", ".join(f"{t} {m:.0f} s (n={sv['by_type_n'][t]})" for t, m in sv["by_type_mean"].items()))
    p("")
    p("== Patience (exponential, rate = abandoned / total wait of queued calls)")
    for name, x in (("all", pt), ("regular (priority 0/1)", pt["regular"]), ("priority 2", pt["priority"])):
        p(f"  {name:24s} asks {x['n_asks']:6d}, queued {x['share_queued']:.1%}, abandoned {x['n_abandoned']:5d} "
          f"({x['abandon_share']:.2%} of asks, {x['abandon_share_queued']:.1%} of queued), mean wait {x['mean_wait_s']:.1f} s, waited <= 20 s {x['share_wait_le_20s']:.1%}, "
          f"mean patience {x['mean_patience_s']:.0f} s")
    p("")
    p("== Customer mix (calls asking for an agent)")
    p("  types: " + ", ".join(f"{t} {v:.1%}" for t, v in mix["type_shares"].items()))
    p(f"  priority 2: {mix['priority2_share_all']:.1%} of all, {mix['priority2_share_queued']:.1%} of queued calls, "
      f"{mix['priority2_share_queued_weighted']:.1%} of queued calls weighted by interval volume "
      f"(unqueued calls have no recorded priority) -> use {mix['priority_share_used']:.2f}")
    p("")
    p(f"== Agents: {ag['n_servers_month']} named servers in the month; peak {ag['peak_active']:.1f} active, "
      f"{ag['peak_busy']:.1f} busy on an average weekday")
    p("")
    p("== Scenario values (hard-coded in scenarios/bank_contact_centre.yaml)")
    p(f"  daily_volume: {y['daily_volume']}")
    p(f"  shares: [{', '.join(f'{s:.4f}' for s in y['shares'])}]")
    p(f"  segments: regular share {y['regular_share']}, patience {y['patience_regular_mean_s']} s; "
      f"priority share {y['priority_share']}, patience {y['patience_priority_mean_s']} s; "
      f"channel patience {y['patience_mean_s']} s")
    p(f"  handle time (identify + serve): lognormal mean {y['handle_lognormal']['mean_s']} s, cv {y['handle_lognormal']['cv']}")
    p(f"  serve (minus a 30–60 s identify step): lognormal mean {y['serve_lognormal']['mean_s']} s, "
      f"cv {y['serve_lognormal']['cv']}")
    p(f"  active servers per interval: {y['active_servers']}")
    p(f"  busy servers per interval:   {y['busy_servers']}")
    p(f"  offered front-line load (Erlang, scenario volume x mean service): {y['front_load_erlang']}")
    p(f"  offered follow-up load (Erlang, assumed 35% x 8 min):             {y['follow_up_load_erlang']}")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else DEFAULT_PATH
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return 1
    print(report(derive_all(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
