"""``python -m actok``: the same command line as the ``actok`` console script."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
