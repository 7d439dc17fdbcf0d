"""`python -m dynamodb_sessions` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
