"""``python -m iotad``: the ``iotad`` command."""

from iotad.cli.main import run

if __name__ == "__main__":
    run()
