"""transferkit's recipes: runnable end to end with ``transferkit recipe NAME``.

Found through the ``recipes`` entry point like any plugin; importing the package registers
every recipe module in it.
"""
from transferkit.common.plugins import import_submodules

import_submodules(__name__)
