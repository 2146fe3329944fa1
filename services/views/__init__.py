"""Pages of the services app, one module per area: requests (staff), points (staff), public (no account)."""
