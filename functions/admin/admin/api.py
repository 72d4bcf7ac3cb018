"""Admin's HTTP routes under /api/admin (health today; dashboards and approvals as they land)."""

from harambee.http import create_app

app = create_app("admin")
