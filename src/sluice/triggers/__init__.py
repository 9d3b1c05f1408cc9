"""Where jobs come from: object-store events, ``POST /job`` bodies and reconciliation scans."""
