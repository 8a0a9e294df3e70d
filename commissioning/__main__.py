"""`python -m commissioning …` runs the same command line as the `commissioning` script."""

import sys

from commissioning.cli import main

sys.exit(main())
