"""``servsim validate`` describes who does each step: bots' and vendors' steps too."""

from __future__ import annotations

import servsim
from conftest import ROOT
from servsim.report.describe import describe_scenario


def test_a_bots_step_and_its_pool_are_described():
    text = describe_scenario(servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml"))
    assert "chatbot: unlimited agents; serves chatbot;" in text
    assert "bots 'chatbot' take 100.0%" in text and "exceptions 70.0% to 'chat'" in text
    assert "serves ;" not in text and "handle time never abandons" not in text


def test_a_vendor_step_is_described():
    text = describe_scenario(servsim.load_scenario(ROOT / "scenarios" / "vendor_overflow.yaml"))
    assert "vendor 'partner'" in text
