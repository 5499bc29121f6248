"""``python -m sklearn_losses``: the command line (see :mod:`sklearn_losses.cli`)."""
import sys

from .cli import main

sys.exit(main())
