"""Experiments: options as changes to a base scenario, replications, sweeps and the result store.

* :mod:`servsim.experiments.paths` — change a scenario *as data* (the plain dict read from YAML)
  by dotted path: get, set, scale, add agents in given intervals, merge a patch;
* :mod:`servsim.experiments.store` — the on-disk result store of a run: one directory per finished
  task, written atomically, so an interrupted run resumes where it stopped.
"""
