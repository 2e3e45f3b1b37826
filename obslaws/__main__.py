"""`python -m obslaws` runs the command line."""

from obslaws.cli import main

main()
