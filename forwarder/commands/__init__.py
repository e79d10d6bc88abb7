"""One module per console-script command: ``add_parser`` and ``run``."""
