"""Replay: re-send archives to the vendors, streaming, in parts a reader can name.

``Replayer.run`` (``replayer``) takes each run of objects down through the parts, once each:

- ``sources``: list the objects (S3 prefixes, folders, files) and fetch them ahead;
- ``scheduler`` and ``workers``: turn objects into encoded logs (``digest``: read them with
  ``read``, keep what ``selection`` keeps, encode for each destination), in this process and
  then, once the run proves large, in worker processes;
- ``dedup``: drop the events seen before;
- ``batches``: cut each destination's queue into requests;
- ``send``: sender threads deliver them;
- ``ledger``: mark the objects whose records were all delivered in the checkpoint.

``tuning`` holds the sizes. This module imports nothing: a worker process imports the parts it
runs (``workers``, ``digest`` and what they read with), never the senders or the S3 client.
"""
