"""Pure domain rules of baocao: periods, calendars, deadlines, the catalogue, lineage.

Imports only the standard library and small pure-data libraries (holidays); never flask,
sqlalchemy or app.*.
"""
