"""API cost against the page it mirrors: queries and time per request for the statistics endpoints and the large
lists, as ratios to the home page / list page on the same database (machines are shared: ratios, not absolutes).

    DATABASE_URL=... .venv/bin/python bench/api_bench.py [--user district] [--repeat 15]

Runs in-process with Django's test client (no server), as the account given (default: the demo's district staff)."""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

TARGETS = [
    ("page  home (覆盖概览)", "/"),
    ("api   stats/coverage child", "/api/v1/stats/coverage/"),
    ("api   stats/coverage street", "/api/v1/stats/coverage/?group_by=street"),
    ("api   stats/coverage industry csv", "/api/v1/stats/coverage/?group_by=industry&format=csv"),
    ("api   stats/coverage/trend", "/api/v1/stats/coverage/trend/"),
    ("api   stats/compliance", "/api/v1/stats/compliance/"),
    ("api   stats/services", "/api/v1/stats/services/"),
    ("api   stats/members", "/api/v1/stats/members/"),
    ("page  members list", "/members/"),
    ("api   members list (100)", "/api/v1/members/?per_page=100"),
    ("page  workplaces list", "/orgs/workplaces/"),
    ("api   workplaces list (100)", "/api/v1/workplaces/?per_page=100"),
    ("api   service-requests (100)", "/api/v1/service-requests/?per_page=100"),
    ("api   audit (100)", "/api/v1/audit/?per_page=100"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--user", default="district")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=args.user))
    print(f"{'target':<38} {'status':>6} {'queries':>7} {'p50 ms':>8} {'KB':>7}")
    for label, url in TARGETS:
        client.get(url)  # warm
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label:<38} {response.status_code:>6} {len(ctx.captured_queries):>7} {statistics.median(times):>8.1f}"
              f" {len(response.content) / 1024:>7.1f}")


if __name__ == "__main__":
    main()
