"""What a REST client does, with a client generated from the live schema (run by scripts/api_contract.sh).

With a statistics-only token: coverage by street and by industry, and the trend over snapshots, through the
generated `portal_api_client`; the same figures as CSV (parsed with csv.DictReader); the industry rows add up to
the org's own figures (each workplace has one industry); the token is refused outside /api/v1/stats/ and with a
304 when the figures did not change. Exits non-zero on the first disagreement."""

import argparse
import csv
import io
import sys

import httpx
from portal_api_client import AuthenticatedClient
from portal_api_client.api.stats import stats_coverage_list, stats_coverage_trend_list
from portal_api_client.models import CoverageStatsRow, CoverageTrendRow
from portal_api_client.models.stats_coverage_list_group_by import StatsCoverageListGroupBy

FIGURES = ("workplaces", "org_covered", "work_covered", "uncovered", "gig_workers", "within_reach")


def fail(message: str) -> None:
    print(f"!! {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True, help="a statistics-only token")
    parser.add_argument("--full-token", required=True, help="a full token of the same account")
    args = parser.parse_args()
    client = AuthenticatedClient(base_url=args.base_url, token=args.token, prefix="Token")

    by_street = stats_coverage_list.sync(client=client, group_by=StatsCoverageListGroupBy.STREET)
    by_industry = stats_coverage_list.sync(client=client, group_by=StatsCoverageListGroupBy.INDUSTRY)
    trend = stats_coverage_trend_list.sync(client=client)
    for name, rows, kind in (("by street", by_street, CoverageStatsRow), ("by industry", by_industry, CoverageStatsRow),
                             ("trend", trend, CoverageTrendRow)):
        if not isinstance(rows, list) or not rows or not all(isinstance(r, kind) for r in rows):
            fail(f"coverage {name}: expected a list of {kind.__name__}, got {rows!r}")
        print(f">> coverage {name}: {len(rows)} rows")
    if len(trend) < 2:
        fail(f"trend: expected at least two snapshot months, got {len(trend)}")

    # CSV: the same numbers, stable columns
    headers = {"Authorization": f"Token {args.token}"}
    response = httpx.get(f"{args.base_url}/api/v1/stats/coverage/", params={"group_by": "industry", "format": "csv"},
                         headers=headers, timeout=30)
    response.raise_for_status()
    if not response.headers["content-type"].startswith("text/csv"):
        fail(f"CSV: content type {response.headers['content-type']}")
    csv_rows = list(csv.DictReader(io.StringIO(response.text)))
    json_rows = {(r.org_id, r.key): r for r in by_industry}
    if len(csv_rows) != len(json_rows):
        fail(f"CSV has {len(csv_rows)} rows, JSON {len(json_rows)}")
    for row in csv_rows:
        twin = json_rows[(int(row["org_id"]), row["key"])]
        for name in FIGURES:
            if int(row[name]) != getattr(twin, name):
                fail(f"CSV {row['key']}.{name} = {row[name]}, JSON {getattr(twin, name)}")
    print(f">> CSV agrees with JSON ({len(csv_rows)} rows, columns: {', '.join(list(csv_rows[0])[:6])}, ...)")

    # the industries add up to the org's own figures (the org endpoint, with the full token)
    for org_id in sorted({r.org_id for r in by_industry}):
        own = httpx.get(f"{args.base_url}/api/v1/orgs/{org_id}/coverage/", timeout=30,
                        headers={"Authorization": f"Token {args.full_token}"})
        own.raise_for_status()
        total = own.json()["org"]
        for name in FIGURES:
            summed = sum(getattr(r, name) for r in by_industry if r.org_id == org_id)
            if summed != total[name]:
                fail(f"org {org_id}: industries add up to {name}={summed}, the org's figures say {total[name]}")
    print(">> industry rows add up to the org figures")

    # a statistics token reaches nothing else; an unchanged answer is 304
    refused = httpx.get(f"{args.base_url}/api/v1/members/", headers=headers, timeout=30)
    if refused.status_code != 403 or refused.json().get("code") != "token_scope":
        fail(f"statistics token on /api/v1/members/: {refused.status_code} {refused.text[:200]}")
    first = httpx.get(f"{args.base_url}/api/v1/stats/coverage/", headers=headers, timeout=30)
    again = httpx.get(f"{args.base_url}/api/v1/stats/coverage/", timeout=30,
                      headers={**headers, "If-None-Match": first.headers["ETag"]})
    if again.status_code != 304:
        fail(f"If-None-Match with the current ETag: {again.status_code}")
    print(">> statistics token refused outside /stats/ (403 token_scope); unchanged figures answer 304")


if __name__ == "__main__":
    main()
