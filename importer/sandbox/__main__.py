"""``python -m importer.sandbox``: serve a sandbox until Ctrl-C."""

import sys

from .serve import main

sys.exit(main())
