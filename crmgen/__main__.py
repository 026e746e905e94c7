"""``python -P -m crmgen``: the command line, started so that no code of the data repo runs.

``python -m`` puts the current folder first on ``sys.path``; started from a data repo, a file
there named like a module crmgen imports (``json.py``, ``yaml.py``, ``decimal.py`` ...) would
run. The documented ways to start crmgen are the ``crmgen`` console script and
``python -P -m crmgen`` (``-P``: no unsafe path). For a plain ``python -m crmgen``, the current
folder is taken off ``sys.path`` here, before anything else is imported (``crmgen/__init__.py``
imports nothing). What this cannot stop is a ``crmgen`` package in the current folder, which
Python runs instead of this one: hence ``-P`` in the documentation. See docs/security.md.
"""

import os
import sys

if not sys.flags.safe_path and sys.path and os.path.abspath(sys.path[0] or ".") == os.getcwd():
    del sys.path[0]

from crmgen.cli import run

run()
