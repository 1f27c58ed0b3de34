"""Reference verifier of the portal's GA4GH visas, for data nodes. Runs without Django."""
