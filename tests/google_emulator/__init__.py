"""A local emulator of the Google APIs corecruit uses (Sheets v4, Drive v3, OAuth token).

Start one with the ``google_emulator`` pytest fixture (see fixtures.py) or
``with running() as emu:``; point real gspread / googleapiclient at it with
:func:`emulator_session` (a requests session whose adapter carries
``https://*.googleapis.com`` to the emulator). README.md says how to add a service.
"""

from .core import ApiError, Emulator, Request, Response, route, running
from .transport import emulator_session

__all__ = ["ApiError", "Emulator", "Request", "Response", "emulator_session", "route", "running"]
