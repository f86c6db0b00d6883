"""Schemathesis hooks for tests/openapi.rs (loaded through SCHEMATHESIS_HOOKS).

A path parameter marked `x-reserved-expansion` spans path segments, and the
document asks clients to send its slashes as they are (RFC 6570 reserved
expansion, `{+name}`). Schemathesis percent-encodes every path parameter
whole, so without this hook each such request would be a 404 and those
routes would go untested. Everything else Schemathesis sends is untouched.
"""

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter.get("in") != "path" or not parameter.get("x-reserved-expansion"):
            continue
        name = parameter["name"]
        value = case.path_parameters.get(name)
        if isinstance(value, str):
            case.path_parameters[name] = "/".join(_segment(s) for s in value.split("%2F"))


def _segment(segment):
    # A bare "." or ".." segment would be resolved away by the HTTP client.
    return {".": "%2E", "..": "%2E%2E"}.get(segment, segment)
