#!/usr/bin/env bash
# The API contract against a live server (CI's real-services leg, .ci/run section 4d; runnable by hand):
#   1. the demo district in the database of DATABASE_URL (migrate + load_demo, idempotent);
#   2. two API tokens issued with `manage.py issue_api_token` (a district account's full token, a statistics one);
#   3. gunicorn serving the portal on 127.0.0.1 (the production WSGI entry point);
#   4. schemathesis against the live schema with the full token: no 5xx, every response conforms to the schema;
#   5. a client generated from the schema by openapi-python-client pulls coverage by street and by industry and a
#      trend with the statistics token (scripts/api_client_check.py), and compares them with the CSV and the pages.
# Usage: scripts/api_contract.sh [OUT_DIR]   (needs .venv with requirements-dev.txt; DATABASE_URL optional)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$PWD/.venv/bin/python"
OUT="${1:-$PWD/var/ci/api-contract}"
mkdir -p "$OUT"
PORT="${API_CONTRACT_PORT:-8765}"
BASE="http://127.0.0.1:$PORT"

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py load_demo >/dev/null
FULL_TOKEN=$("$PY" manage.py issue_api_token district --name "ci contract (full)" --scope full --days 1)
STATS_TOKEN=$("$PY" manage.py issue_api_token district --name "ci contract (stats)" --scope stats --days 1)

# schemathesis sends thousands of requests: the per-token limit is raised for this server only
API_THROTTLE_RATE=1000000/min "$PWD/.venv/bin/gunicorn" portal.wsgi:application --bind "127.0.0.1:$PORT" \
    --workers 2 --threads 4 --timeout 120 --access-logfile "$OUT/access.log" --error-logfile "$OUT/gunicorn.log" &
GUNICORN_PID=$!
trap 'kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null "$BASE/login/" && break
    sleep 0.5
done
curl -fsS -o /dev/null "$BASE/login/"
curl -fsS -H "Authorization: Token $FULL_TOKEN" "$BASE/api/v1/schema/?format=json" -o "$OUT/openapi.json"
echo ">> schema: $(wc -c <"$OUT/openapi.json") bytes, $("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(v) for v in d['paths'].values()), 'operations')" "$OUT/openapi.json")"

echo ">> schemathesis against $BASE"
"$PWD/.venv/bin/st" run "$BASE/api/v1/schema/?format=json" \
    --header "Authorization: Token $FULL_TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" --workers 2 --request-timeout 60 \
    --phases examples,coverage,fuzzing --seed 20261207 --no-color \
    --report junit --report-junit-path "$OUT/schemathesis.xml"

echo ">> a client generated from the schema (openapi-python-client)"
rm -rf "$OUT/client"
mkdir -p "$OUT/client"  # --meta none: the output path is the package itself
"$PWD/.venv/bin/openapi-python-client" generate --path "$OUT/openapi.json" --output-path "$OUT/client/portal_api_client" \
    --config scripts/openapi-client.yaml --meta none
PYTHONPATH="$OUT/client" "$PY" scripts/api_client_check.py --base-url "$BASE" --token "$STATS_TOKEN" --full-token "$FULL_TOKEN"
echo ">> API contract: passed"
