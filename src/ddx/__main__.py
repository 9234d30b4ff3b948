"""python -m ddx"""

from ddx.cli import main

raise SystemExit(main())
