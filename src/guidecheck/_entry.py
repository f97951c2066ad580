"""The ``guidecheck`` command's entry point: the collector tuned before the imports, then the CLI.

Importing the command line allocates hundreds of thousands of objects that live until the process
ends; with Python's default threshold (a collection every 700 allocations) the collector walks them
again and again while a pre-commit run imports (a few percent of its CPU).  The CLI itself freezes
what the imports made and keeps the threshold raised (:func:`guidecheck.cli._tune_gc`).  Only the
command does this: a program that imports guidecheck keeps its own collector settings.
"""

from __future__ import annotations


def main() -> None:
    import gc

    gc.set_threshold(50_000, 20, 20)
    from guidecheck.cli import main as cli_main

    cli_main()
