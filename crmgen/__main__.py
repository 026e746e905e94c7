"""``python -m crmgen``."""

from crmgen.cli import main

main()
