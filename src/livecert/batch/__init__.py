"""Batch verification of an archive of recordings (``livecert batch``).

* :mod:`livecert.batch.manifest`: the CSV manifest, one row per recording,
  validated as a whole before any work starts.
* :mod:`livecert.batch.journal`: the results file (JSON Lines), appended one
  finished row at a time and resumable after a crash.
* :mod:`livecert.batch.runner`: :func:`~livecert.batch.runner.verify_row`, the
  one worker function, run in a pool of spawned processes or as Ray tasks;
  :func:`~livecert.batch.runner.run_batch` ties the three together.
"""
