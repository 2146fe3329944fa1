"""Member views, one module per area (registry, transfers, imports); members/urls.py joins their patterns."""
