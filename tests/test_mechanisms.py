"""Service-delivery mechanisms: each test shows a mechanism doing what it claims, and would fail
without it. Statistical checks use the replications' own t interval (99%) or a binomial interval,
with fixed seeds; theory (Erlang B) where the mechanism has one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

import servsim
from servsim import theory
from servsim.engine import compile_plan
from servsim.economics import pool_charges
from servsim.stats import paired_difference, t_interval
from conftest import ROOT, scenario

LEVEL = 0.99


def _binomial_ok(successes: int, n: int, p: float, level: float = LEVEL) -> bool:
    """p lies inside the exact (Clopper–Pearson) interval of successes out of n."""
    ci = st.binomtest(successes, n).proportion_ci(confidence_level=level)
    return ci.low <= p <= ci.high


def _overall(r: servsim.Replications, column: str) -> np.ndarray:
    s = r.summary
    return s[(s["channel"] == "all") & (s["segment"] == "all")][column].to_numpy(dtype=float)


# --------------------------------------------------------------------------- chat concurrency
CHAT = """
name: chat
horizon: {{start: "08:00", end: "16:00", interval: 60min}}
channels:
  chat:
    kind: chat
    arrivals: {{rate: 20/min}}
    entry: reply
    patience: {{dist: exponential, mean: 60min}}
pools:
  team: {{agents: 2, concurrency: {k}, concurrency_slowdown: {slow}, skills: {{reply: 1.0}}}}
steps:
  reply: {{handle_time: {{dist: exponential, mean: 1min}}}}
limits: {{max_in_system: 1000000}}
"""


def _throughput(k: int, slow: float) -> np.ndarray:
    r = servsim.replicate(scenario(CHAT.format(k=k, slow=slow)), replications=8, seed=3)
    return _overall(r, "handled")


def test_chat_concurrency_three_triples_a_saturated_pools_throughput():
    one, three = _throughput(1, 0.0), _throughput(3, 0.0)
    # saturated: 2 agents × 1/min × 480 min = 960 handled; with 3 chats each, 2880
    ratio = three / one
    ci = t_interval(ratio, LEVEL)
    assert abs(ci.mean - 3.0) <= ci.half_width, ci
    assert ci.mean > 2.8


def test_chat_slowdown_lowers_each_agents_rate():
    # 3 chats at once, each 1 + 0.5 × 2 = 2× slower: 1.5 chats a minute per agent instead of 3
    ratio = _throughput(3, 0.5) / _throughput(1, 0.0)
    ci = t_interval(ratio, LEVEL)
    assert abs(ci.mean - 1.5) <= ci.half_width, ci


def test_chat_occupancy_counts_slots():
    r = servsim.simulate(scenario(CHAT.format(k=3, slow=0.0)), seed=1)
    occ = r.pool_summary["occupancy"].iloc[0]
    assert 0.97 <= occ <= 1.0          # saturated: every chat slot in use, never more


# --------------------------------------------------------------------------- RPA bots
RPA = """
name: claims
horizon: {start: "00:00", end: "24:00", interval: 60min}
channels:
  claims: {kind: email, arrivals: {rate: 30/hour}, entry: assess}
pools:
  robots: {kind: bots, agents: 4, licence_cost: 3000, licence_period: 30d, cost_per_transaction: 0.05}
  handlers: {agents: 10, cost_per_hour: 30, skills: {assess: 1.0, fix: 1.0}}
steps:
  assess:
    stage: back
    handle_time: {dist: exponential, mean: 12min}
    automation: {bots: robots, level: 0.8, handle_time: {dist: deterministic, value: 2min},
                 exception_rate: 0.2, exceptions_to: fix}
  fix: {stage: back, handle_time: {dist: exponential, mean: 15min}}
"""


def test_rpa_exception_rate_sends_that_share_of_bot_work_to_people():
    r = servsim.simulate(scenario(RPA), seed=5)
    v = r.visits
    bot = v[(v["step"] == "assess@robots") & (v["outcome"] == "served")]
    fixed = v[v["step"] == "fix"]
    assert set(fixed["contact"]) <= set(bot["contact"])        # only bot exceptions reach 'fix'
    n_bot = len(bot[bot["end_s"] < r.contacts["arrival_s"].max() - 3600])
    n_fix = int(fixed["contact"].isin(bot[bot["end_s"] < r.contacts["arrival_s"].max() - 3600]["contact"]).sum())
    assert _binomial_ok(n_fix, n_bot, 0.2), (n_fix, n_bot)
    # the automation level: 80% of claims go to the bots
    assert _binomial_ok(int(v[v["step"] == "assess@robots"]["contact"].nunique()), len(r.contacts), 0.8)


def test_rpa_bots_work_around_the_clock_and_are_priced():
    # one bot, 2.5 min a claim: 24 claims an hour against 30 arriving from 08:00 to 18:00
    text = (RPA.replace('start: "00:00", end: "24:00"', 'start: "08:00", end: "18:00", days: 2')
            .replace("rate: 30/hour}", "rate: 30/hour, day_factors: [1, 0]}").replace("agents: 4", "agents: 1")
            .replace("value: 2min", "value: 150s").replace("level: 0.8", "level: 1.0")
            .replace("exception_rate: 0.2", "exception_rate: 0.0"))
    r = servsim.simulate(scenario(text), seed=2)
    bot = r.visits[r.visits["step"] == "assess@robots"]
    night = bot[(bot["start_s"] >= 18 * 3600) & (bot["start_s"] < 86400 + 8 * 3600)]
    assert len(night) > 20                                # the backlog is worked overnight
    assert (bot["outcome"] == "served").all()             # and gone by the morning
    charges = pool_charges(r.pools, scenario(text)).set_index("pool")
    # 1 licence × 3000 per 30 days × 2 simulated days + 0.05 per transaction
    assert charges.loc["robots", "bot_cost"] == pytest.approx(3000 / 30 * 2 + 0.05 * len(bot))
    assert charges.loc["robots", "staff_cost"] == 0.0
    assert r.summary["bot_cost"].iloc[0] == pytest.approx(charges.loc["robots", "bot_cost"])
    assert r.summary["contained"].iloc[0] == len(bot)     # nobody touched them


# --------------------------------------------------------------------------- chatbot containment
CHATBOT = """
name: chatbot
horizon: {start: "08:00", end: "20:00", interval: 60min}
channels:
  web: {kind: chat, arrivals: {rate: 2/min}, entry: bot, patience: {dist: exponential, mean: 10min}}
pools:
  assistant: {kind: bots, agents: unlimited, licence_cost: 500}
  agents: {agents: 6, concurrency: 2, skills: {chat: 1.0}}
steps:
  bot:
    automation: {bots: assistant, handle_time: {dist: exponential, mean: 3min}, containment: 0.3,
                 exceptions_to: chat}
  chat: {handle_time: {dist: exponential, mean: 6min}}
"""


def test_containment_keeps_that_share_of_chatbot_contacts_from_agents():
    r = servsim.simulate(scenario(CHATBOT), seed=11)
    c = r.contacts
    done = c[c["outcome"].isin(["contained", "handled", "abandoned"])]
    contained = int((done["outcome"] == "contained").sum())
    assert _binomial_ok(contained, len(done), 0.3), (contained, len(done))
    # contained contacts never met an agent; the others did (or abandoned waiting for one)
    agent_visits = set(r.visits[r.visits["step"] == "chat"]["contact"])
    assert not agent_visits & set(c[c["outcome"] == "contained"]["contact"])
    assert set(c[c["outcome"] == "handled"]["contact"]) <= agent_visits


def test_time_with_the_chatbot_lowers_the_satisfaction_of_handed_over_contacts():
    from servsim.economics import satisfaction_scores

    r = servsim.simulate(scenario(CHATBOT), seed=11)
    c = r.contacts
    handed = c[(c["outcome"] == "handled") & (c["bot_s"] > 0)]
    with_bot = satisfaction_scores(handed)
    without = satisfaction_scores(handed.drop(columns="bot_s"))
    assert (with_bot <= without).all() and (with_bot < without).mean() > 0.5


# --------------------------------------------------------------------------- email backlog and blending
EMAIL = """
name: email
horizon: {start: "08:00", end: "18:00", days: 2, interval: 60min}
channels:
  mail:
    kind: email
    arrivals: {rate: 30/hour, day_factors: [1, 0]}
    entry: answer
    service_level: {threshold: 24h, goal: 0.9}
pools:
  back_office: {agents: 2, skills: {answer: 1.0}}
steps:
  answer: {stage: back, handle_time: {dist: exponential, mean: 6min}}
"""


def test_email_backlog_left_at_the_end_of_day_one_is_worked_on_day_two():
    r = servsim.simulate(scenario(EMAIL), seed=4)
    v = r.visits
    day1_close = 18 * 3600
    backlog = v[(v["queued_s"] < day1_close) & ((v["start_s"] >= day1_close) | v["start_s"].isna())]
    assert len(backlog) > 50                               # 300 mails, capacity 200 on day 1
    assert (backlog["start_s"] >= 86400 + 8 * 3600).all()  # worked when day 2 opens, not overnight
    assert (r.contacts["outcome"] != "abandoned").all()    # email never abandons
    # 24h service level: day-1 mail answered by 08:00+ next day is mostly within 24 h
    sl = r.summary.set_index("channel").loc["all", "service_level"]
    assert sl > 0.9


BLEND = """
name: blend
horizon: {{start: "08:00", end: "16:00", interval: 60min}}
channels:
  phone: {{arrivals: {{rate: 3/min}}, entry: call}}
  chat: {{kind: chat, arrivals: {{rate: 1/min}}, entry: chat}}
  mail: {{kind: email, arrivals: {{rate: 2/min}}, entry: mail}}
pools:
  blended:
    agents: 14
    skills:
      call: {{priority: {p}}}
      chat: {{priority: {p}}}
      mail: {{priority: 0}}
steps:
  call: {{handle_time: {{dist: exponential, mean: 3min}}}}
  chat: {{handle_time: {{dist: exponential, mean: 4min}}}}
  mail: {{stage: back, handle_time: {{dist: exponential, mean: 1min}}}}
"""


def test_a_blended_pool_serves_phone_and_chat_before_email():
    r = servsim.simulate(scenario(BLEND.format(p=1)), seed=8)
    v = r.visits
    served = v[v["start_s"].notna()]
    # whenever an email was started, no phone or chat contact was waiting
    sync = v[v["step"].isin(["call", "chat"])]
    q, s = sync["queued_s"].to_numpy(), sync["start_s"].fillna(np.inf).to_numpy()
    for t in served[served["step"] == "mail"]["start_s"].to_numpy():
        assert not ((q < t) & (s > t)).any()
    waits = served.groupby("step", observed=True)["wait_s"].mean()
    assert waits["mail"] > 5 * max(waits["call"], waits["chat"])


def test_without_the_priority_email_competes_on_equal_terms():
    with_priority = servsim.replicate(scenario(BLEND.format(p=1)), 5, seed=8).visits
    equal = servsim.replicate(scenario(BLEND.format(p=0)), 5, seed=8).visits

    def call_wait(v):
        return v[v["step"] == "call"].groupby("replication")["wait_s"].mean().to_numpy()

    d = paired_difference(call_wait(equal), call_wait(with_priority), LEVEL)
    assert d.low > 0, d                    # phone waits longer once email is not behind it


# --------------------------------------------------------------------------- outsourcing
VENDOR = """
name: vendor
horizon: {{start: "08:00", end: "18:00", interval: 30min}}
channels:
  phone: {{arrivals: {{rate: 10/min}}, entry: call, patience: {{dist: exponential, mean: 4min}}}}
pools:
  staff: {{agents: 10, cost_per_hour: 25, skills: {{call: 1.0}}}}
  partner: {{kind: vendor, agents: unlimited, price_per_contact: 4.0, price_per_hour: 0, handle_time_factor: 1.2}}
steps:
  call:
    handle_time: {{dist: exponential, mean: 1min}}
{outsource}
"""


def test_vendor_overflow_lowers_asa_and_raises_vendor_cost():
    base = servsim.replicate(scenario(VENDOR.format(outsource="")), 6, seed=21)
    over = servsim.replicate(scenario(VENDOR.format(
        outsource="    outsource: {to: partner, queue_over: 3}")), 6, seed=21)
    d_asa = paired_difference(_overall(over, "asa_s"), _overall(base, "asa_s"), LEVEL)
    assert d_asa.high < 0, d_asa
    assert (_overall(base, "vendor_cost") == 0).all()
    cost = _overall(over, "vendor_cost")
    assert (cost == 4.0 * _overall(over, "outsourced")).all() and cost.min() > 0


def test_queue_overflow_caps_the_people_queue():
    r = servsim.simulate(scenario(VENDOR.format(outsource="    outsource: {to: partner, queue_over: 3}")), seed=2)
    v = r.visits[r.visits["step"] == "call"]
    waited = v[v["wait_s"] > 0]
    # "queue_over: 3" overflows when 3 wait already: the queue, the joining contact included,
    # is never longer than 3
    q, leave = waited["queued_s"].to_numpy(), (waited["queued_s"] + waited["wait_s"]).to_numpy()
    ahead = np.array([((q < t) & (leave > t)).sum() for t in q])
    assert ahead.max() + 1 == 3


def test_a_fixed_share_goes_to_the_vendor():
    r = servsim.simulate(scenario(VENDOR.format(outsource="    outsource: {to: partner, share: 0.25}")), seed=3)
    to_vendor = int((r.visits["step"] == "call@partner").sum())
    assert _binomial_ok(to_vendor, len(r.contacts), 0.25)
    # the vendor's handle time is 1.2 × the step's
    h = r.visits[r.visits["step"] == "call@partner"]["handle_s"].mean()
    assert h == pytest.approx(72.0, rel=0.1)


def test_wait_based_overflow_only_in_its_time_window():
    text = VENDOR.format(outsource='    outsource: {to: partner, wait_over: 30s, between: ["12:00", "14:00"]}')
    r = servsim.simulate(scenario(text), seed=3)
    v = r.visits[r.visits["step"] == "call@partner"]
    tod = v["queued_s"] % 86400
    assert len(v) > 0 and ((tod >= 12 * 3600) & (tod < 14 * 3600)).all()
    text = VENDOR.format(outsource="    outsource: {to: partner, expected_wait_over: 1min}")
    r = servsim.simulate(scenario(text), seed=3)
    assert r.summary["outsourced"].iloc[0] > 0


# --------------------------------------------------------------------------- people: breaks, shrinkage, costs
STAFF = """
name: staff
horizon: {{start: "08:00", end: "16:00", interval: 30min}}
channels:
  phone: {{arrivals: {{rate: 0.5/min}}, entry: call}}
pools:
  team:
    shifts: [{{start: "08:00", end: "16:00", agents: 10, breaks: [{{start: "12:00", end: "13:00", length: 30min}}]}}]
    shrinkage: {shrink}
    cost_per_hour: 20
    skills: {{call: 1.0}}
steps:
  call: {{handle_time: {{dist: exponential, mean: 2min}}}}
"""


def test_breaks_are_staggered_and_shrinkage_reduces_who_is_on_duty():
    plan = compile_plan(scenario(STAFF.format(shrink=0.0)))
    on = {(t % 86400) / 3600: n for t, p, n in plan.staffing}
    assert on == {8.0: 10, 12.0: 5, 12.5: 5, 13.0: 10, 16.0: 0} or on == {8.0: 10, 12.0: 5, 13.0: 10, 16.0: 0}
    plan = compile_plan(scenario(STAFF.format(shrink=0.3)))
    on = {(t % 86400) / 3600: n for t, p, n in plan.staffing}
    assert on[8.0] == 7 and on[12.0] == 4          # round(10 × 0.7), round(5 × 0.7) = 3.5 → 4
    assert {(t % 86400) / 3600: n for t, p, n in plan.paid} == {8.0: 10, 16.0: 0}


def test_staffed_idle_hours_are_paid():
    r = servsim.simulate(scenario(STAFF.format(shrink=0.3)), seed=1)
    # 10 agents scheduled 8 h, paid (breaks and absence included) at 20 an hour, almost idle
    assert r.summary["staff_cost"].iloc[0] == pytest.approx(10 * 8 * 20, rel=1e-3)
    assert r.pool_summary["occupancy"].iloc[0] < 0.2


# --------------------------------------------------------------------------- behaviour
LOSS = """
name: loss
horizon: {{start: "00:00", end: "24:00", days: 3, interval: 60min, warmup: 1h}}
channels:
  phone:
    arrivals: {{rate: 8/min}}
    entry: call
    balking: {{queue: 0}}
    {retrial}
pools:
  team: {{agents: 10, skills: {{call: 1.0}}}}
steps:
  call: {{handle_time: {{dist: exponential, mean: 1min}}}}
"""


def test_balking_at_an_empty_queue_is_erlangs_loss_system():
    r = servsim.replicate(scenario(LOSS.format(retrial="")), 8, seed=9)
    p_balk = _overall(r, "balked") / _overall(r, "offered")
    ci = t_interval(p_balk, LEVEL)
    assert abs(ci.mean - theory.erlang_b(10, 8.0)) <= ci.half_width, (ci, theory.erlang_b(10, 8.0))


def test_retrials_raise_offered_load_above_first_attempts():
    text = LOSS.format(retrial="retrial: {probability: 0.6, delay: {dist: deterministic, value: 2min}}")
    r = servsim.simulate(scenario(text), seed=9)
    c = r.contacts
    first = c[c["attempt"] == 1]
    assert len(c) > len(first) and (c["attempt"] > 1).sum() > 0.05 * len(first)
    # each retrial comes exactly 2 min after a balk of the same channel
    balk_times = np.round(c[c["outcome"] == "balked"]["exit_s"].to_numpy(), 6)
    retry = np.round(c[c["attempt"] > 1]["arrival_s"].to_numpy() - 120.0, 6)
    assert np.isin(retry, balk_times).all()
    # about 60% of balks (not at the last attempt) come back
    eligible = c[(c["outcome"] == "balked") & (c["attempt"] < 3) & (c["exit_s"] < c["arrival_s"].max() - 300)]
    back = int(np.isin(np.round(eligible["exit_s"].to_numpy() + 120.0, 6), np.round(c["arrival_s"].to_numpy(), 6)).sum())
    assert _binomial_ok(back, len(eligible), 0.6)


def test_retrial_after_abandoning_uses_the_exact_abandonment_time():
    text = """
    name: redial
    horizon: {start: "08:00", end: "12:00", interval: 60min}
    channels:
      phone:
        arrivals: {rate: 12/min}
        entry: call
        patience: {dist: exponential, mean: 1min}
        retrial: {probability: 1.0, delay: {dist: deterministic, value: 5min}, max_attempts: 2}
    pools:
      team: {agents: 10, skills: {call: 1.0}}
    steps:
      call: {handle_time: {dist: exponential, mean: 1min}}
    """
    r = servsim.simulate(scenario(text), seed=1)
    c = r.contacts
    gone = c[(c["outcome"] == "abandoned") & (c["attempt"] == 1) & (c["exit_s"] < 12 * 3600 - 300)]
    retries = np.sort(c[c["attempt"] == 2]["arrival_s"].to_numpy())
    assert len(gone) > 100
    assert np.isin(np.round(gone["exit_s"].to_numpy() + 300.0, 6), np.round(retries, 6)).all()
    assert (c["attempt"] <= 2).all()


def test_unresolved_contacts_come_back_as_repeats():
    text = """
    name: fcr
    horizon: {start: "08:00", end: "20:00", interval: 60min}
    channels:
      phone:
        arrivals: {rate: 3/min}
        entry: call
        repeats: {probability: 1.0, delay: {dist: deterministic, value: 30min}}
    pools:
      team: {agents: 10, resolution: 0.7, skills: {call: 1.0}}
    steps:
      call: {handle_time: {dist: exponential, mean: 2min}}
    """
    r = servsim.simulate(scenario(text), seed=6)
    c = r.contacts
    handled = c[c["outcome"] == "handled"]
    assert _binomial_ok(int((~handled["resolved"]).sum()), len(handled), 0.3)
    early_unresolved = handled[~handled["resolved"] & (handled["exit_s"] < 20 * 3600 - 1800) & (handled["attempt"] < 3)]
    repeats = c[c["attempt"] > 1]["arrival_s"].to_numpy()
    assert np.isin(np.round(early_unresolved["exit_s"].to_numpy() + 1800, 6), np.round(repeats, 6)).all()
    assert r.summary["unresolved"].iloc[0] == (~handled["resolved"]).sum()


def test_conservation_with_every_outcome():
    r = servsim.simulate(scenario(CHATBOT.replace("agents: 6", "agents: 2")), seed=1)
    s = r.summary.iloc[0]
    assert s["offered"] == s["handled"] + s["contained"] + s["abandoned"] + s["balked"] + s["in_system_end"]


def test_costs_by_pool_and_channel_add_up():
    from servsim.economics import cost_by_channel

    s = servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml")
    r = servsim.simulate(s, seed=2)
    charges = pool_charges(r.pools, s).set_index("pool")
    assert charges.loc["phone_agents", "staff_cost"] == pytest.approx(
        r.pools[r.pools["pool"] == "phone_agents"]["paid_s"].sum() / 3600 * 32)
    by_channel = cost_by_channel(charges.reset_index(), r.visits, r.contacts)
    # every pool served something, so the split loses nothing
    assert by_channel.sum() == pytest.approx(charges["cost"].sum())
    assert by_channel["email"] > charges.loc["email_team", "cost"]      # phone agents helped with email
    assert r.summary.iloc[0]["total_cost"] == pytest.approx(charges["cost"].sum() + r.summary.iloc[0]["penalty_cost"])


def test_vendor_hourly_price_uses_handling_hours():
    text = VENDOR.format(outsource="    outsource: {to: partner, share: 0.3}").replace(
        "price_per_contact: 4.0, price_per_hour: 0", "price_per_contact: 0, price_per_hour: 60")
    r = servsim.simulate(scenario(text), seed=4)
    v = r.visits[(r.visits["step"] == "call@partner") & r.visits["handle_s"].notna()]
    busy_h = np.minimum(v["end_s"].fillna(18 * 3600), 18 * 3600).sub(v["start_s"]).sum() / 3600
    assert r.summary["vendor_cost"].iloc[0] == pytest.approx(60 * busy_h, rel=1e-9)


# --------------------------------------------------------------------------- wrap-up
def test_wrap_up_draws_from_its_own_stream_so_arrivals_and_handle_times_keep_their_numbers():
    """Common random numbers: adding wrap-up changes who waits, not the arrivals nor the k-th handle
    time drawn (services in start order); occupancy rises with the wrap-up."""
    text = """
        name: CRN
        horizon: {start: "08:00", end: "12:00", interval: 60min}
        channels:
          calls: {arrivals: {rate: 5/min}, entry: answer, patience: {dist: exponential, mean: 2min}}
        pools:
          agents: {agents: 6, skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: lognormal, mean: 55s, cv: 0.8}WRAP}
        """
    plain = servsim.simulate(scenario(text.replace("WRAP", "")), seed=9)
    wrapped = servsim.simulate(scenario(text.replace("WRAP", ", wrap_up: {dist: exponential, mean: 15s}")), seed=9)
    np.testing.assert_array_equal(plain.contacts["arrival_s"], wrapped.contacts["arrival_s"])
    a, b = (r.visits.dropna(subset=["start_s"]).sort_values("start_s", kind="stable") for r in (plain, wrapped))
    n = min(len(a), len(b))
    done = ~(a["end_s"].isna().to_numpy()[:n] | b["end_s"].isna().to_numpy()[:n])
    np.testing.assert_allclose(a["handle_s"].to_numpy()[:n][done], b["handle_s"].to_numpy()[:n][done], rtol=1e-12)
    assert (wrapped.contacts["wait_s"].mean() > plain.contacts["wait_s"].mean())
    assert wrapped.pool_summary["occupancy"].iloc[0] > plain.pool_summary["occupancy"].iloc[0]
    assert plain.pool_summary["wrap_s"].iloc[0] == 0 and (plain.summary["mean_wrap_s"] == 0).all()
