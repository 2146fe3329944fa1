"""Organizational-life pages: `records` (meeting records under /activities/) and `compliance` (the board,
its export and exemptions under /compliance/). Every page is a class on core.views.generic."""
