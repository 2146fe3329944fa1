"""The OpenAPI schema: generated from the code with no warning, the error shape and the token scheme on every
operation, examples on the statistics endpoints; Swagger UI and Redoc served from this server only."""

import io
import json
import re

import pytest
import yaml
from django.core.management import call_command

from orgs.models import Role
from tests.factories import UserFactory, grant, make_root

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        out = io.StringIO()
        # --fail-on-warn: any warning (an untyped field, an enum collision) fails the command, hence this test
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    return json.loads(out.getvalue())


def test_the_schema_has_every_resource_and_the_statistics(schema):
    paths = set(schema["paths"])
    for path in ("/api/v1/orgs/", "/api/v1/regions/", "/api/v1/workplaces/", "/api/v1/assignments/", "/api/v1/members/",
                 "/api/v1/transfers/{id}/approve/", "/api/v1/transfers/{id}/receive/", "/api/v1/transfers/{id}/send-back/",
                 "/api/v1/transfers/{id}/withdraw/", "/api/v1/activities/", "/api/v1/compliance/", "/api/v1/exemptions/",
                 "/api/v1/service-categories/", "/api/v1/service-requests/", "/api/v1/service-points/",
                 "/api/v1/notifications/", "/api/v1/reminder-rules/", "/api/v1/snapshots/", "/api/v1/users/",
                 "/api/v1/grants/", "/api/v1/audit/", "/api/v1/stats/coverage/", "/api/v1/stats/coverage/trend/",
                 "/api/v1/stats/compliance/", "/api/v1/stats/services/", "/api/v1/stats/members/"):
        assert path in paths, path


def test_every_operation_documents_the_error_shape_and_the_token(schema):
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "message", "fields"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for code in ("400", "401", "403", "404", "429"):
                assert code in operation["responses"], f"{method.upper()} {path} lacks {code}"
            assert {"tokenAuth": []} in operation.get("security", []), f"{method.upper()} {path}: no token auth"


def test_writes_document_their_input_serializers(schema):
    body = schema["paths"]["/api/v1/transfers/{id}/send-back/"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "reason" in schema["components"]["schemas"][ref]["properties"]
    create = schema["paths"]["/api/v1/orgs/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert create.rsplit("/", 1)[-1].endswith("Request")


def test_statistics_endpoints_have_examples_and_csv(schema):
    for path in ("/api/v1/stats/coverage/", "/api/v1/stats/coverage/trend/", "/api/v1/stats/compliance/",
                 "/api/v1/stats/services/", "/api/v1/stats/members/"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert "text/csv" in ok, path
        assert ok["application/json"].get("examples"), f"{path}: no example"


def test_the_schema_needs_credentials(client):
    assert client.get("/api/v1/schema/").status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_readers_load_only_local_assets(client, url):
    user = UserFactory()
    grant(user, make_root(), Role.VIEWER)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "an asset from another host"
    assert "fonts.googleapis" not in html
    assert "<style" not in html and "<script>" not in html.replace("<script src", "")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    for asset in re.findall(r"""(?:src|href)="(/static/[^"]+)""", html):
        assert client.get(asset).status_code == 200, asset
    if url.endswith("docs/"):
        init = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
        script = client.get(init)
        assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_the_yaml_schema_is_served_to_a_token(client):
    user = UserFactory()
    grant(user, make_root(), Role.VIEWER)
    client.force_login(user)
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")
