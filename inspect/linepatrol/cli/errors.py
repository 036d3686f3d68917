"""The error a command raises for something the user can fix."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix (bad argument, missing model); printed without a traceback."""
