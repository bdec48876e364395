"""Where runs keep their artifacts and records."""

from dagwright.store.local import LocalStore, default_root

__all__ = ["LocalStore", "default_root"]
