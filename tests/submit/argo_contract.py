"""The upstream Argo Workflows v4.1.2 swagger as a request checker, for the argo-server stand-in.

No Argo server can run here, so ``argo_server.ArgoServer`` answers in its place and holds every
request to this contract. The Swagger 2.0 machinery is ``kfp_contract.Contract``'s, which knows
no KFP beyond its query ``filter`` and upload form (neither exists in Argo's API):

- the operation is found by method and path template (``/api/v1/workflows/{namespace}``);
- every query parameter is declared for the operation and of its type (booleans as Go's
  ``strconv.ParseBool`` reads them, int64 numbers written as strings);
- ``Authorization``, when sent, is ``Bearer <token>`` (the swagger's only security scheme);
- a JSON body is checked against the operation's body schema with jsonschema, plus a strict
  check of our own: the swagger never says ``additionalProperties: false``, so an unknown or
  misspelled field would pass JSON Schema alone. The swagger marks no field ``readOnly``, but
  Kubernetes' ``ObjectMeta`` describes the fields the system fills in as "Read-only." (uid,
  creationTimestamp, generation...): those are refused in requests. ``resourceVersion``, also
  described so, is exempt: clients must pass it back unchanged on update.

One widening, as the real server behaves: the swagger types ``IntOrString`` as a string, but
Kubernetes' Go type (and so argo-server) reads an integer too, and Hera's models keep
``retryStrategy.limit: 2`` an integer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kfp_contract import Contract, Refused

# verbatim upstream copy kept in the repository; provenance in tests/schemas/README.md
SWAGGER = Path(__file__).resolve().parents[1] / "schemas" / "argo-workflows-v4.1.2.swagger.json.gz"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
# what Go's strconv.ParseBool takes, as grpc-gateway parses boolean query parameters
GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
_SYSTEM_SET = re.compile(r"\bRead-only\.")

__all__ = ["SWAGGER", "ArgoContract", "Refused"]


class ArgoContract(Contract):
    """Argo's swagger as routes, and checks of requests and responses against its schemas."""

    def __init__(self, swagger: Path = SWAGGER) -> None:
        super().__init__(swagger)
        self.definitions[INT_OR_STRING] = {"type": ["string", "integer"]}

    def _query(self, declared: dict[str, Any], name: str, value: str) -> list[str]:
        found = super()._query(declared, name, value)
        param = declared.get(name)
        if found or param is None:
            return found
        if param.get("type") == "boolean" and value not in GO_BOOLS:
            return [f"query parameter '{name}'={value!r} is not a boolean"]
        if param.get("format") in ("int32", "int64") and not re.fullmatch(r"-?[0-9]+", value):
            return [f"query parameter '{name}'={value!r} is not an integer"]
        return []

    def _strict(self, schema: dict[str, Any], value: Any, where: str, request: bool) -> list[str]:
        found = super()._strict(schema, value, where, request)
        if request and isinstance(value, dict):
            declared = self._resolve(schema).get("properties") or {}
            for key in value:
                described = (declared.get(key) or {}).get("description", "")
                if key != "resourceVersion" and _SYSTEM_SET.search(described):
                    found.append(f"{where}.{key}: set by the system (Read-only), sent in a request")
        return found
