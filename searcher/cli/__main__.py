"""``python -m searcher.cli``: the same CLI, e.g. as a Ray Job's entry point."""

from searcher.cli.app import main

main()
