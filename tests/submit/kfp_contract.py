"""The upstream KFP v2beta1 swagger as a request checker, for the KFP API stand-in.

No KFP backend can run here, so ``kfp_api_server.KfpApiServer`` answers in its place and
holds every request to this contract:

- the operation is found by method and path template (``/apis/v2beta1/runs/{run_id}``);
- every query parameter is declared for the operation and of its type; ``filter`` is JSON
  checked against ``v2beta1Filter`` (the swagger types it as a plain string whose text is
  protobuf JSON, which also takes lowerCamelCase names and enum numbers; kfp sends both, so
  they are mapped to the swagger's spelling first);
- a JSON body is checked against the operation's body schema with jsonschema (Swagger 2.0's
  ``definitions`` wrapped into one schema document), plus a strict check of our own: the
  swagger never says ``additionalProperties: false``, so an unknown or misspelled field would
  pass JSON Schema alone; fields marked ``readOnly`` are refused in requests too;
- a multipart upload has only declared form fields, the required file, and that file is a
  PipelineSpec that kfp's own protobuf message accepts (as the real server parses it).
"""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import yaml

# verbatim upstream copy kept in the repository; provenance in tests/schemas/README.md
SWAGGER = Path(__file__).resolve().parents[1] / "schemas" / "kfp-api-v2beta1.swagger.json.gz"
# filter.proto's PredicateOperation numbers (4 is unused there), which kfp.Client sends
FILTER_OPERATIONS = {
    0: "OPERATION_UNSPECIFIED",
    1: "EQUALS",
    2: "NOT_EQUALS",
    3: "GREATER_THAN",
    5: "GREATER_THAN_EQUALS",
    6: "LESS_THAN",
    7: "LESS_THAN_EQUALS",
    8: "IN",
    9: "IS_SUBSTRING",
}


class Refused(Exception):
    """A request the real server would refuse; ``violation`` when dagwright should not send it."""

    def __init__(self, status: int, code: int, message: str, violation: bool = True) -> None:
        super().__init__(message)
        self.status, self.code, self.violation = status, code, violation


def proto_json(value: Any) -> Any:
    """Protobuf JSON in the swagger's spelling: snake_case names, enum names for numbers."""
    if isinstance(value, list):
        return [proto_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {
        re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", k).lower(): proto_json(v) for k, v in value.items()
    }
    if isinstance(out.get("operation"), int):
        out["operation"] = FILTER_OPERATIONS.get(out["operation"], out["operation"])
    return out


def spec_of(package: Any, where: str) -> dict[str, Any]:
    """The PipelineSpec in a package or a run body, which kfp's own proto must accept."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    # kfp sends {pipeline_spec, platform_spec} when the package has a platform part
    spec = package.get("pipeline_spec", package) if isinstance(package, dict) else package
    try:
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    except (json_format.ParseError, AttributeError, TypeError) as exc:
        raise Refused(400, 3, f"{where} is not a KFP PipelineSpec: {exc}") from exc
    return dict(spec)


class Contract:
    """The swagger as routes, and checks of requests and responses against its schemas."""

    def __init__(self, swagger: Path = SWAGGER) -> None:
        document = json.loads(gzip.decompress(swagger.read_bytes()).decode("utf-8"))
        self.definitions = document["definitions"]
        routes = []
        for template, operations in document["paths"].items():
            parts = re.split(r"(\{[^}]+\})", template)
            names = [p[1:-1] for p in parts if p.startswith("{")]
            regex = "".join("([^/:]+)" if p.startswith("{") else re.escape(p) for p in parts)
            routes.append((len(names), re.compile(regex), names, operations))
        self.routes = sorted(routes, key=lambda r: r[0])  # literal paths before templated ones

    def route(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The operation and its path parameters, or None when the swagger has no such call."""
        for _, regex, names, operations in self.routes:
            match = regex.fullmatch(path)
            if match and method.lower() in operations:
                values = [unquote(v) for v in match.groups()]
                return operations[method.lower()], dict(zip(names, values, strict=True))
        return None

    def problems(self, schema: dict[str, Any], value: Any, where: str, request: bool) -> list[str]:
        """JSON Schema errors, then unknown (and, in requests, readOnly) fields."""
        document = {"definitions": self.definitions, "allOf": [schema]}
        found = [
            f"{where}{''.join(f'.{p}' for p in error.absolute_path)}: {error.message}"
            for error in jsonschema.Draft4Validator(document).iter_errors(value)
        ]
        return found + self._strict(schema, value, where, request)

    def check_request(
        self, op: dict[str, Any], query: dict[str, str], headers: Any, raw: bytes
    ) -> tuple[Any, list[str]]:
        """The request's body (parsed) and every way the request breaks the contract."""
        declared = {p["name"]: p for p in op.get("parameters", [])}
        found = [p for name, value in query.items() for p in self._query(declared, name, value)]
        for param in declared.values():
            if param["in"] == "query" and param.get("required") and param["name"] not in query:
                found.append(f"required query parameter '{param['name']}' is missing")
        auth = headers.get("Authorization")
        if auth is not None and not re.fullmatch(r"Bearer \S+", auth):
            found.append("Authorization is not 'Bearer <token>'")
        ctype = headers.get("Content-Type", "")
        body = next((p for p in declared.values() if p["in"] == "body"), None)
        form = [p for p in declared.values() if p["in"] == "formData"]
        if body is not None:
            if not ctype.startswith("application/json"):
                return None, [*found, f"body sent as {ctype!r}, not application/json"]
            try:
                parsed = json.loads(raw or b"null")
            except ValueError:
                return None, [*found, "body is not JSON"]
            if parsed is None and body.get("required"):
                return None, [*found, "required body is missing"]
            return parsed, found + self.problems(body["schema"], parsed, "body", request=True)
        if form:
            upload, more = self._form(form, ctype, raw)
            return upload, found + more
        if raw.strip():
            found.append("a body was sent to an operation that takes none")
        return None, found

    def _query(self, declared: dict[str, Any], name: str, value: str) -> list[str]:
        param = declared.get(name)
        if param is None or param["in"] != "query":
            return [f"query parameter '{name}' is not declared"]
        if param.get("type") == "integer" and not re.fullmatch(r"-?[0-9]+", value):
            return [f"query parameter '{name}'={value!r} is not an integer"]
        if "enum" in param and value not in param["enum"]:
            return [f"query parameter '{name}'={value!r} is not one of {param['enum']}"]
        if name == "filter" and value:
            try:
                parsed = proto_json(json.loads(value))
            except ValueError:
                return ["filter is not JSON"]
            ref = {"$ref": "#/definitions/v2beta1Filter"}
            return self.problems(ref, parsed, "filter", request=True)
        return []

    def _form(self, form: list[dict[str, Any]], ctype: str, raw: bytes) -> tuple[Any, list[str]]:
        if not ctype.startswith("multipart/form-data"):
            return None, [f"upload sent as {ctype!r}, not multipart/form-data"]
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw
        )
        parts = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()
        }
        declared = {p["name"]: p for p in form}
        found = [f"form field '{name}' is not declared" for name in parts if name not in declared]
        for name, param in declared.items():
            part = parts.get(name)
            if part is None and param.get("required"):
                found.append(f"required form field '{name}' is missing")
            elif part is not None and param.get("type") == "file" and not part.get_filename():
                found.append(f"form field '{name}' is not a file")
        upload = parts.get("uploadfile")
        if upload is None:
            return None, found
        text = upload.get_payload(decode=True).decode("utf-8", errors="replace")
        try:
            spec = spec_of(yaml.safe_load(text), "uploadfile")
        except (yaml.YAMLError, Refused) as exc:
            return None, [*found, str(exc)]
        return {"filename": upload.get_filename(), "spec": spec}, found

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _strict(self, schema: dict[str, Any], value: Any, where: str, request: bool) -> list[str]:
        schema = self._resolve(schema)
        found: list[str] = []
        if isinstance(value, dict) and "properties" in schema:
            for key, item in value.items():
                declared = schema["properties"].get(key)
                if declared is None:
                    found.append(f"{where}.{key}: unknown field (not in the swagger)")
                elif request and declared.get("readOnly"):
                    found.append(f"{where}.{key}: read-only field sent in a request")
                else:
                    found += self._strict(declared, item, f"{where}.{key}", request)
        elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                extra = schema["additionalProperties"]
                found += self._strict(extra, item, f"{where}.{key}", request)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                found += self._strict(schema["items"], item, f"{where}[{i}]", request)
        return found
