"""Runbook sections: the questions an engineer asks for each alert type, as functions.

Each section is ``fn(case) -> list of displayables`` and is run by
:meth:`incident_lib.notebook.Case.show`; notebooks call them one per cell.
"""
