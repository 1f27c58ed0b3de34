"""Command line: does this visa (or passport) grant a dataset, and until when?

    python -m visa_verifier verify --trust https://portal.example --dataset GDS000123 < visa.jwt

Prints one JSON object. Exit status: 0 granted (or, without --dataset, a valid token), 1 refused,
2 bad usage or configuration, 3 the portal or its key set could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from visa_verifier.config import build_config
from visa_verifier.online import Introspector, PortalUnavailable
from visa_verifier.verifier import PASSPORT_TYP, KeySetUnavailable, Rejected, Verifier, _segment_json, iso_time

GRANTED, REFUSED, USAGE, UNAVAILABLE = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m visa_verifier", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify a visa or passport read from standard input")
    verify.add_argument("--dataset", help="accession (or dataset URL, or mapped resource id) the token must grant")
    verify.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ISSUER[=JWKS_URL]",
        help="an issuer to trust (repeatable); default from VISA_TRUSTED_ISSUERS",
    )
    verify.add_argument("--skew", type=int, help="allowed clock difference in seconds (default 60)")
    verify.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="RESOURCE_ID=ACCESSION",
        help="a resource id a visa's value may carry, and the accession it names (repeatable); "
        "default from VISA_RESOURCES",
    )
    verify.add_argument(
        "--online",
        action="store_true",
        help="also ask the portal's introspection endpoint (needs NODE_API_KEY; PORTAL_URL defaults to the issuer)",
    )
    verify.add_argument("--token-file", help="read the token from this file instead of standard input")
    return parser


def main(argv: list[str] | None = None, *, stdin=None, stdout=None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    args = _parser().parse_args(argv)

    def answer(payload: dict, status: int) -> int:
        stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        return status

    try:
        config = build_config(args.trust, skew=args.skew, resources=args.resource)
        introspector = None
        if args.online:
            portal = os.environ.get("PORTAL_URL") or config.issuers[0].issuer
            introspector = Introspector(portal, os.environ.get("NODE_API_KEY", ""))
    except ValueError as error:
        return answer({"error": "configuration", "message": str(error)}, USAGE)
    if args.token_file:
        try:
            with open(args.token_file, "rb") as handle:
                token = handle.read(config.max_passport_bytes + 1)
        except OSError as error:
            return answer({"error": "token_file", "message": f"{args.token_file}: {error.strerror}"}, USAGE)
    else:
        token = stdin.buffer.read(config.max_passport_bytes + 1) if hasattr(stdin, "buffer") else stdin.read()
    verifier = Verifier(config)
    try:
        if args.dataset:
            grants = [verifier.grant_for(token, args.dataset)]
        else:
            text = token.decode("ascii", "replace").strip() if isinstance(token, bytes) else token.strip()
            if text.count(".") == 2 and _segment_json(text, 0, "header").get("typ") == PASSPORT_TYP:
                grants, _refused = verifier.verify_passport(text)
            else:
                grants = [verifier.verify_visa(token)]
        if introspector is not None:
            for grant in grants:
                online = introspector.introspect(grant.token)
                if not online["active"] or online.get("dataset") != grant.dataset or online.get("sub") != grant.sub:
                    raise Rejected("inactive", "the portal says the permit is not live (revoked, replaced or expired)")
    except Rejected as rejected:
        return answer({"granted": False, "code": rejected.code, "reason": rejected.reason}, REFUSED)
    except (PortalUnavailable, KeySetUnavailable) as error:
        return answer({"granted": False, "code": "portal_unavailable", "reason": str(error)}, UNAVAILABLE)
    payload = {
        "granted": bool(grants),
        "grants": [dict(grant.as_dict(), expires_at_iso=iso_time(grant.expires_at)) for grant in grants],
    }
    if args.dataset and grants:
        payload.update(dataset=grants[0].dataset, sub=grants[0].sub, until=iso_time(grants[0].expires_at))
    return answer(payload, GRANTED if grants else REFUSED)


if __name__ == "__main__":
    sys.exit(main())
