"""`python -m ddx` and the `ddx` command: the command line, imported where a Ctrl-C during its
start (it reads the knowledge base as its options are built) ends quietly, as one later does."""

import sys


def main() -> int:
    try:
        from ddx.process import main as run
    except KeyboardInterrupt:
        return 130
    return run(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
