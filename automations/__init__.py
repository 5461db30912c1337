"""corecruit: co-produced recruitment on the spreadsheets and forms teams already use."""

__version__ = "0.1.0"
