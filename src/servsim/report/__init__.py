"""Rendering for people: terminal tables (``tables``), scenario descriptions (``describe``), the
theory beside a run (``theory_view``), figures (``figures``, ``sweep``) and the self-contained HTML
report of a comparison (``html``, ``experiment``)."""
