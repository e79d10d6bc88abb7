"""``report``: what stopped, why, how often, since when, from the archives replay reads.

Functional core: ``loops`` (crash-loop detection), ``tally`` (the one-pass aggregation into
counters keyed by group, hour and category), ``document`` (the JSON document), ``text`` (the
terminal view), ``page`` (the HTML page's model). Adapters at the edges: ``read`` (replay's
readers) and ``html`` (Jinja2 and matplotlib, the ``report`` extra; never imported by the Lambda).
"""
