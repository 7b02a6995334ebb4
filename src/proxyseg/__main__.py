"""``python -m proxyseg``: the same as the ``proxyseg`` command."""

from proxyseg.cli import main

main()
