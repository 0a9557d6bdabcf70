"""`python -m payreq_cli`: the same as the installed `payreq` command."""

import sys

from payreq_cli import main

sys.exit(main())
