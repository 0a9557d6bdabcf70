import sys

from payreq.cli import main

sys.exit(main())
