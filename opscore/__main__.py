"""`python -m opscore` runs the `opscore` command."""

from .cli import main

main()
