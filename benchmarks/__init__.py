"""livecert benchmarks: ``python -m benchmarks COMMAND`` (``suite``, ``blink``,
``session``, ``digits``, ``match-threshold``, ``manifest``).

Run ``python -m benchmarks --help``; the suite's manifest format is in
``benchmarks/README.md``.  The suite benchmarks only livecert's public API;
shared metrics are in :mod:`livecert.evaluation.metrics`, the data folder and
the result files' metadata in :mod:`benchmarks.common`.
"""
