"""Lessons a room can see: lesson files -> a precomputed grid -> one self-contained page with a replay.

    servsim teach lessons/hockey_stick.yaml --out lessons/hockey_stick.html

:mod:`~servsim.teach.lesson` reads and checks lesson files, :mod:`~servsim.teach.grid` runs every cell
of the grid, :mod:`~servsim.teach.replay` turns one replication's visit log into the animation's
events, :mod:`~servsim.teach.page` renders the page. The static assets (``static/``) are plain
JavaScript and CSS, inlined into every page; ``replay.js`` mounts into any element, so other
front ends (the live app) can reuse it.
"""

from servsim.teach.lesson import Lesson, load_lesson, lesson_from_dict

__all__ = ["Lesson", "load_lesson", "lesson_from_dict", "teach"]


def teach(lesson, out=None, *, workers: int = 1, progress=None):  # noqa: ANN001, ANN201 - re-exported below
    from servsim.teach.page import teach as _teach

    return _teach(lesson, out, workers=workers, progress=progress)
