"""How the OpenAPI description names the API key schemes (imported by AccountsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from accounts.authentication import KEYWORD, NODE_KEYWORD


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=KEYWORD)


class NodeKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.NodeKeyAuthentication"
    name = "nodeApiKey"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix=NODE_KEYWORD)
        return {**scheme, "description": f"A data node's key from the portal staff: `{NODE_KEYWORD} gapn_…`."}
