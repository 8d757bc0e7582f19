"""``python -m presshil``: the same command line as the ``presshil`` script."""

from presshil.cli import main

if __name__ == "__main__":
    main()
