"""How the OpenAPI description names the node key scheme (imported by DatasetsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from datasets.authentication import NODE_KEYWORD, REMS_KEY_HEADER


class NodeKeyScheme(OpenApiAuthenticationExtension):
    target_class = "datasets.authentication.NodeKeyAuthentication"
    name = "nodeApiKey"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix=NODE_KEYWORD)
        return {**scheme, "description": f"A data node's key from the portal staff: `{NODE_KEYWORD} gapn_…`."}


class RemsKeyScheme(OpenApiAuthenticationExtension):
    target_class = "datasets.authentication.RemsKeyAuthentication"
    name = "remsApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": REMS_KEY_HEADER,
            "description": "A data node's key, as REMS clients send theirs: `gapn_…` alone. "
            "`x-rems-user-id` is accepted and not used.",
        }
