"""``python -m tilepress.cli``: the ``tilepress`` command."""

from tilepress.cli import console_script

console_script()
