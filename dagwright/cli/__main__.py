"""``python -m dagwright.cli``: the ``dagwright`` command."""

from dagwright.cli import main

# guarded so that importing the module (as tests/test_errors.py does, walking the package)
# does not run the command
if __name__ == "__main__":
    main()
