"""`python -m hwnas.cli`: the same as the `hwnas` command."""

from hwnas.cli import main

main()
