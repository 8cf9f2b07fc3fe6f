"""`python -m shoprec.cli`: the `shoprec` command without the console script."""

from shoprec.cli import main

main()
